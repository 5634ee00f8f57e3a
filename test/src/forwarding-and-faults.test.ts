// The proxy's forwarding on public routes, and what users see when a dependency is missing: an upstream that is
// down, an IdP that is down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getFreePort, startEchoUpstream, type EchoUpstream } from '@vallum/testing';
import { publicRoute, startProxy, type TestProxy } from './proxy-fixture.js';

let proxy: TestProxy;
let upstream: EchoUpstream;
let port: number;

before(async () => {
  upstream = await startEchoUpstream();
  const closedPort = await getFreePort();
  proxy = await startProxy(
    (p) =>
      publicRoute('public.localhost', p, `${upstream.url}/base`) +
      publicRoute('down.localhost', p, `http://127.0.0.1:${closedPort}`) +
      `  - from: http://app.localhost:${p}\n    to: ${upstream.url}\n    allow_any_authenticated_user: true\n`,
  );
  port = proxy.port;
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
});

const call = (host: string, path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) => proxy.call(host, path, init);

test('a public route forwards method, body and raw query to the upstream base path', async () => {
  const body = 'x'.repeat(100_000);
  const res = await call('public.localhost', '/dir/../items?q=%2Fa&b', { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  assert.equal(res.statusCode, 200);
  const echoed = (await res.body.json()) as { method: string; url: string; headers: Record<string, string> };
  assert.equal(echoed.method, 'POST');
  assert.equal(echoed.url, '/base/items?q=%2Fa&b');
  assert.equal(upstream.requests.at(-1)?.body, body);
  assert.equal(echoed.headers['x-forwarded-host'], `public.localhost:${port}`);
  assert.equal(echoed.headers['x-forwarded-proto'], 'http');
  assert.ok(echoed.headers['x-request-id']);
});

test('an upstream that is down gives a 502 page with the request id', async () => {
  const res = await call('down.localhost', '/', { headers: { 'x-request-id': 'req-502-test' } });
  const text = await res.body.text();
  assert.equal(res.statusCode, 502);
  assert.match(text, /Application unavailable/);
  assert.match(text, /req-502-test/);
});

test('an IdP that is down gives a clear 503 sign-in page, not a crash or a hang', async () => {
  const signIn = await call('app.localhost', '/');
  await signIn.body.dump();
  assert.equal(signIn.statusCode, 302);
  const location = new URL(String(signIn.headers.location));
  const res = await call('authenticate.localhost', `${location.pathname}${location.search}`);
  const text = await res.body.text();
  assert.equal(res.statusCode, 503);
  assert.match(text, /identity provider cannot be reached/);
  // Retryable, and says so: when, and where to start again (the page the user wanted).
  assert.equal(res.headers['retry-after'], '5');
  assert.match(text, /id="retry-hint"/);
  assert.ok(text.includes(`href="${location.searchParams.get('redirect_uri')}">Try again`), text);
  // Vallum keeps serving.
  const again = await call('public.localhost', '/ok');
  await again.body.dump();
  assert.equal(again.statusCode, 200);
});

test("/.vallum/ paths on a route host are Vallum's own and never reach the app", async () => {
  const before = upstream.requests.length;
  const res = await call('public.localhost', '/.vallum/anything');
  await res.body.dump();
  assert.equal(res.statusCode, 404);
  assert.equal(upstream.requests.length, before);
  const health = await call('public.localhost', '/.vallum/healthz');
  assert.equal(health.statusCode, 200);
  await health.body.dump();
});
