// Request smuggling: a request whose framing two parsers could read differently is refused before it reaches an
// upstream, so no second request can hide in a body (CL.TE, TE.CL, TE.TE, duplicate Content-Length).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startEchoUpstream, type EchoUpstream } from '@vallum/testing';
import { publicRoute, startProxy, type TestProxy } from './proxy-fixture.js';

let proxy: TestProxy;
let echo: EchoUpstream;

before(async () => {
  echo = await startEchoUpstream();
  proxy = await startProxy((port) => publicRoute('app.localhost', port, echo.url));
});

after(async () => {
  await proxy?.close();
  await echo?.close();
});

/** Writes raw bytes to the proxy and returns everything it answers until it closes (or 3 s pass). */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxy.port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (answer += d));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.write(bytes);
  });
}

const host = () => `app.localhost:${proxy.port}`;
const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: app.localhost\r\n\r\n';

const attempts: Array<[string, () => string]> = [
  [
    'Content-Length with Transfer-Encoding (CL.TE)',
    () => `POST /a HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
  ],
  [
    'two different Content-Length headers',
    () => `POST /a HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
  ],
  [
    'an obfuscated Transfer-Encoding (TE.TE)',
    () => `POST /a HTTP/1.1\r\nHost: ${host()}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
  ],
  [
    'a space before the colon of Transfer-Encoding',
    () => `POST /a HTTP/1.1\r\nHost: ${host()}\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
  ],
  [
    'an obs-folded Transfer-Encoding',
    () => `POST /a HTTP/1.1\r\nHost: ${host()}\r\nX-A: 1\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
  ],
];

for (const [name, bytes] of attempts) {
  test(`request smuggling: ${name} is refused with 400 and nothing reaches the upstream`, async () => {
    const before = echo.requests.length;
    const answer = await raw(bytes());
    assert.match(answer, /^HTTP\/1\.1 400 /, `answer was: ${answer.slice(0, 80)}`);
    assert.equal(answer.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer, for one request');
    assert.equal(echo.requests.length, before, 'the upstream got nothing');
  });
}

test('a well-framed chunked request reaches the upstream as exactly one request with its body', async () => {
  const before = echo.requests.length;
  const answer = await raw(`POST /one HTTP/1.1\r\nHost: ${host()}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
  assert.match(answer, /^HTTP\/1\.1 200 /);
  const got = echo.requests.slice(before);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.url, '/one');
  assert.equal(got[0]?.body, 'hello');
});
