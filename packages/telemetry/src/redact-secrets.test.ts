import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loggerOptions, redactSecrets } from './index.js';

test('credential parameters are redacted by name in a URL, other parameters kept', () => {
  assert.equal(
    redactSecrets('/oauth2/callback?code=abc.def-1&state=xyz&iss=http%3A%2F%2Fidp'),
    '/oauth2/callback?code=[redacted]&state=[redacted]&iss=http%3A%2F%2Fidp',
  );
  assert.equal(redactSecrets('/.vallum/callback?vallum_handoff=eyJhbGc.x.y'), '/.vallum/callback?vallum_handoff=[redacted]');
  assert.equal(redactSecrets('GET /x?a=1&sign_out_token=t0k#access_token=at&b=2'), 'GET /x?a=1&sign_out_token=[redacted]#access_token=[redacted]&b=2');
  assert.equal(redactSecrets('/x?ID_TOKEN_HINT=abc'), '/x?ID_TOKEN_HINT=[redacted]');
  assert.equal(redactSecrets('/x?encode=1&codex=2'), '/x?encode=1&codex=2');
});

test('a credential inside another URL (percent-encoded) and Bearer credentials are redacted', () => {
  assert.equal(redactSecrets('redirect_uri=https%3A%2F%2Fa%2Fcb%3Fcode%3Dsecret1%26x%3D1'), 'redirect_uri=https%3A%2F%2Fa%2Fcb%3Fcode%3D[redacted]%26x%3D1');
  assert.equal(redactSecrets('authorization: Bearer eyJ.abc.def, next'), 'authorization: Bearer [redacted], next');
});

test('a token response quoted in an error message is redacted, our own error codes are not', () => {
  assert.equal(
    redactSecrets('{"msg":"bad response {\\"access_token\\":\\"at1\\",\\"id_token\\":\\"it1\\"}","code":"VALLUM_X"}'),
    '{"msg":"bad response {\\"access_token\\":\\"[redacted]\\",\\"id_token\\":\\"[redacted]\\"}","code":"VALLUM_X"}',
  );
  assert.equal(redactSecrets('{"refreshToken": "rt1"}'), '{"refreshToken": "[redacted]"}');
});

test('every log line is redacted, whatever field carries the URL (message, error, request)', () => {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  const log = pino(loggerOptions({ service: 't', level: 'info' }), sink);
  log.info({ req: { url: '/cb?code=c0de1' } }, 'request completed');
  log.error({ err: new Error('fetch http://idp/token?refresh_token=r3fresh failed') }, 'refresh failed');
  log.info('sign-out to http://a/?sign_out_token=s1gn');
  log.info({ headers: { authorization: 'Bearer b3arer', cookie: '_vallum=c00kie' } }, 'headers');
  for (const secret of ['c0de1', 'r3fresh', 's1gn', 'b3arer', 'c00kie']) assert.ok(!out.includes(secret), `${secret} in ${out}`);
});
