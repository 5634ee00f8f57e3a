import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { lazyChildLogger } from './lazy-child-logger.js';
import { REDACT_PATHS } from './index.js';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink), lines };
}

test('a lazy child writes enabled lines with its bindings and redaction, and skips disabled ones', async () => {
  const { logger, lines } = capture('warn');
  const parent = logger;
  let made = 0;
  const child = parent.child.bind(parent);
  parent.child = ((b, o) => (made++, child(b, o))) as typeof parent.child;
  const log = lazyChildLogger(parent, { reqId: 'r1' }, {});
  log.info('not written');
  log.debug({ x: 1 }, 'nor this');
  assert.equal(made, 0, 'no child is built for lines that are not written');
  log.warn({ headers: { cookie: 'secret' } }, 'written');
  log.error('also written');
  await new Promise((r) => setImmediate(r));
  assert.equal(made, 1);
  assert.deepEqual(
    lines.map((l) => [l.reqId, l.msg, (l.headers as { cookie?: string } | undefined)?.cookie]),
    [
      ['r1', 'written', '[redacted]'],
      ['r1', 'also written', undefined],
    ],
  );
  assert.equal(log.level, 'warn');
  assert.equal(log.isLevelEnabled('info'), false);
});

test('a child with its own level is made at once and obeys that level', async () => {
  const { logger, lines } = capture('warn');
  const log = lazyChildLogger(logger, { reqId: 'r2' }, { level: 'debug' });
  log.debug('debug line');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['debug line'],
  );
});
