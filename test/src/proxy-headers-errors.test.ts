// The Director, ModifyResponse and ErrorHandler as config: hop-by-hop headers, X-Forwarded-* with trusted proxies,
// request ids, per-route header rules, repeated response headers; 502/503/504 as HTML or JSON.
import { test, before, after } from 'node:test';
import { request as httpRequest } from 'node:http';
import assert from 'node:assert/strict';
import { startEchoUpstream, getFreePort, type EchoUpstream } from '@vallum/testing';
import { spawnService, stopChild } from './harness.js';
import { publicRoute, startProxy, startUpstream, writeProxyConfig, type TestProxy, type TestUpstream } from './proxy-fixture.js';

let proxy: TestProxy;
let untrusted: TestProxy;
let echo: EchoUpstream;
let special: TestUpstream;

before(async () => {
  echo = await startEchoUpstream();
  special = await startUpstream((req, res) => {
    if (req.url === '/slow') return; // never answers
    if (req.url === '/reset') {
      req.socket.destroy();
      return;
    }
    res.writeHead(
      200,
      [
        ['Set-Cookie', 'a=1; Path=/'],
        ['Set-Cookie', 'b=2; Path=/'],
        ['X-Multi', 'one'],
        ['X-Multi', 'two'],
        ['Connection', 'x-internal'],
        ['X-Internal', 'secret'],
        ['Keep-Alive', 'timeout=5'],
        ['X-Powered-By', 'upstream'],
        ['Content-Type', 'text/plain'],
      ].flat(),
    );
    res.end('ok');
  });
  const closed = await getFreePort();
  const routes = (port: number) =>
    publicRoute(
      'h.localhost',
      port,
      echo.url,
      'set_request_headers:\n  X-Env: prod\n  X-Vallum-Claim-Email: forged@example.com\nremove_request_headers: [X-Drop-Me]',
    ) +
    publicRoute(
      'resp.localhost',
      port,
      special.url,
      'set_response_headers:\n  X-Powered-By: vallum\n  Strict-Transport-Security: max-age=600\ntimeout: 300ms',
    ) +
    publicRoute('down.localhost', port, `http://127.0.0.1:${closed}`);
  proxy = await startProxy(routes, 'trusted_proxies: [127.0.0.0/8]');
  untrusted = await startProxy(routes, 'trusted_proxies: [10.0.0.0/8, "::1"]');
});

after(async () => {
  await proxy?.close();
  await untrusted?.close();
  await echo?.close();
  await special?.close();
});

test('hop-by-hop and Connection-named headers are dropped; route rules set and remove; X-Vallum-* never passes', async () => {
  // node:http rather than undici: undici refuses to send hop-by-hop headers at all.
  const body = await rawGet(proxy.port, {
    host: `h.localhost:${proxy.port}`,
    connection: 'keep-alive, x-hop',
    'x-hop': '1',
    'keep-alive': '5',
    'proxy-authorization': 'Basic eA==',
    te: 'trailers',
    'x-drop-me': '1',
    'x-keep': 'yes',
    X_Vallum_Claim_Groups: 'admins',
  });
  const { headers } = JSON.parse(body) as { headers: Record<string, string> };
  for (const h of ['x-hop', 'keep-alive', 'proxy-authorization', 'te', 'x-drop-me', 'x_vallum_claim_groups', 'x-vallum-claim-email']) {
    assert.equal(headers[h], undefined, h);
  }
  assert.equal(headers['x-keep'], 'yes');
  assert.equal(headers['x-env'], 'prod');
});

test('X-Forwarded-For is appended only from a trusted proxy; X-Request-Id is passed through or generated, and returned', async () => {
  const fromTrusted = await proxy.call('h.localhost', '/', { headers: { 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'abc-123' } });
  assert.equal(fromTrusted.headers['x-request-id'], 'abc-123');
  const t = (await fromTrusted.body.json()) as { headers: Record<string, string> };
  assert.equal(t.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(t.headers['x-request-id'], 'abc-123');
  assert.equal(t.headers['x-forwarded-proto'], 'http');
  assert.equal(t.headers['x-forwarded-host'], `h.localhost:${proxy.port}`);

  const fromUntrusted = await untrusted.call('h.localhost', '/', { headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-host': 'evil' } });
  const u = (await fromUntrusted.body.json()) as { headers: Record<string, string> };
  assert.equal(u.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(u.headers['x-forwarded-host'], `h.localhost:${untrusted.port}`);
  assert.match(u.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(fromUntrusted.headers['x-request-id'], u.headers['x-request-id']);
});

test('repeated response headers and every Set-Cookie survive; hop-by-hop ones do not; set_response_headers replace', async () => {
  const res = await proxy.call('resp.localhost', '/');
  assert.equal(await res.body.text(), 'ok');
  assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
  assert.deepEqual(res.headers['x-multi'], ['one', 'two']);
  assert.equal(res.headers['x-internal'], undefined);
  assert.notEqual(res.headers['keep-alive'], 'timeout=5', "the upstream's Keep-Alive is not relayed");
  assert.equal(res.headers['x-powered-by'], 'vallum');
  assert.equal(res.headers['strict-transport-security'], 'max-age=600');
});

test('refused → 502, reset → 502, no answer within timeout → 504; HTML with the request id, or JSON on request', async () => {
  const refused = await proxy.call('down.localhost', '/', { headers: { 'x-request-id': 'rid-502' } });
  assert.equal(refused.statusCode, 502);
  assert.match(await refused.body.text(), /rid-502/);

  const reset = await proxy.call('resp.localhost', '/reset', { headers: { accept: 'application/json' } });
  assert.equal(reset.statusCode, 502);
  assert.equal(((await reset.body.json()) as { code: string }).code, 'VALLUM_UPSTREAM_UNAVAILABLE');

  const started = Date.now();
  const slow = await proxy.call('resp.localhost', '/slow', { headers: { accept: 'application/json', 'x-request-id': 'rid-504' } });
  assert.equal(slow.statusCode, 504);
  assert.ok(Date.now() - started < 5000);
  assert.match(String(slow.headers['content-type']), /application\/json/);
  assert.deepEqual(await slow.body.json(), { code: 'VALLUM_UPSTREAM_TIMEOUT', message: 'The application did not answer in time.', request_id: 'rid-504' });
});

function rawGet(port: number, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
}

interface LogLine {
  msg?: string;
  level?: number;
  status?: number;
  url?: string;
  client_ip?: string;
  request_id?: string;
}

test('a forwarded request is logged once with its request id, status and client address', async () => {
  const port = await getFreePort();
  const file = writeProxyConfig(port, 'log_level: info', publicRoute('logged.localhost', port, echo.url));
  const child = await spawnService(file, 'all', {}, port);
  try {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const res = await new Promise<{ status: number }>((resolve, reject) =>
      httpRequest({ host: '127.0.0.1', port, path: '/hello?x=1', headers: { host: `logged.localhost:${port}`, 'x-request-id': 'log-me-42' } }, (r) => {
        r.resume();
        r.on('end', () => resolve({ status: r.statusCode ?? 0 }));
      })
        .on('error', reject)
        .end(),
    );
    assert.equal(res.status, 200);
    const lines = () =>
      out
        .split('\n')
        .filter((l) => l.includes('"log-me-42"'))
        .map((l) => JSON.parse(l) as LogLine);
    for (let i = 0; i < 50 && !lines().some((l) => l.msg === 'request'); i++) await new Promise((r) => setTimeout(r, 100));
    const done = lines().filter((l) => l.msg === 'request');
    assert.equal(done.length, 1, out);
    assert.equal(done[0]!.status, 200);
    assert.equal(done[0]!.url, '/hello?x=1');
    assert.equal(done[0]!.client_ip, '127.0.0.1');
    assert.equal(lines().length, 1, 'nothing else is logged for the request');
  } finally {
    await stopChild(child);
  }
});
