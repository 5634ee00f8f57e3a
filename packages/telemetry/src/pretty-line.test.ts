import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loggerOptions, prettyLine } from './index.js';

test('a JSON line becomes one readable line: time, level, service, message, then the fields', () => {
  const line = prettyLine(
    JSON.stringify({ level: 30, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), service: 'proxy', msg: 'request', status: 200, url: '/a b', user: null }),
  );
  assert.equal(line, '03:04:05.006 INFO  proxy request status=200 url="/a b" user=null\n');
  const err = prettyLine(
    JSON.stringify({ level: 50, time: 0, service: 'proxy', msg: 'proxy error', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n at x' } }),
  );
  assert.equal(err.split('\n').length, 2, 'one line, its newline');
  assert.match(err, /ERROR proxy proxy error err="Error: boom"/);
  assert.equal(prettyLine('not json\n'), 'not json\n');
});

test('log_format pretty: the logger writes readable lines, secrets still redacted', () => {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      out.push(String(chunk));
      done();
    },
  });
  const log = pino(loggerOptions({ service: 'proxy', level: 'info', format: 'pretty' }), sink);
  log.info({ url: '/cb?code=secret-code&x=1' }, 'request');
  assert.equal(out.length, 1);
  assert.match(out[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}proxy request url="\/cb\?code=\[redacted\]&x=1"\n$/);
});
