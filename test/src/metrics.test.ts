// Prometheus metrics on their own listener (`metrics_address`): a real scrape that parses, counters and histograms
// that moved with the right labels after real requests (signed in through the real IdP in Chromium), never served
// on a route host, and a listener on every service in split mode.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { getFreePort, launchBrowser, parseExposition, sampleValue, startHttpUpstream, type Exposition, type HttpUpstream } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { hostGet, signInWithBrowser } from './identity-helpers.js';

async function scrape(url: string): Promise<Exposition> {
  const res = await request(`${url}/metrics`);
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.body.text());
}

let stack: Stack;
let browser: Browser;
let cacheable: HttpUpstream;
let upstreamDown: number;

before(async () => {
  cacheable = await startHttpUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=60' });
    res.end('cached\n');
  });
  upstreamDown = await getFreePort();
  stack = await startStack({
    mode: 'all-in-one',
    redis: true,
    metrics: true,
    extraRoutes: (port) =>
      `  - name: limited\n    from: http://limited.localhost:${port}\n    to: ${cacheable.url}\n    allow_public_unauthenticated_access: true\n` +
      '    rate_limit: { requests: 2, per: 1h, key: ip }\n    cache: { max_bytes: 100000 }\n' +
      `  - name: down\n    from: http://down.localhost:${port}\n    to: http://127.0.0.1:${upstreamDown}\n    allow_public_unauthenticated_access: true\n`,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.close();
  await cacheable?.close();
});

test('a scrape after real requests parses, and each request moved its counter or histogram with bounded labels', async () => {
  const port = stack.port;
  const before = await scrape(stack.metricsUrls.all!);
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  const bobCookie = await bob.cookie();
  // Allowed (engineering on app) twice, denied (not admins on admin) once, sent to sign in once.
  for (let i = 0; i < 2; i++)
    assert.equal((await hostGet(stack, `app.localhost:${port}`, `/user/${i}?x=${i}`, { cookie: `_vallum=${bobCookie}` })).status, 200);
  assert.equal((await hostGet(stack, `admin.localhost:${port}`, '/', { cookie: `_vallum=${bobCookie}`, accept: 'text/html' })).status, 403);
  assert.equal((await hostGet(stack, `app.localhost:${port}`, '/')).status, 302);
  // A cache miss, then a hit; then the rate limit (2 per hour) refuses.
  assert.equal((await hostGet(stack, `limited.localhost:${port}`, '/')).headers['x-cache'], 'MISS');
  assert.equal((await hostGet(stack, `limited.localhost:${port}`, '/')).headers['x-cache'], 'HIT');
  assert.equal((await hostGet(stack, `limited.localhost:${port}`, '/')).status, 429);
  // Nothing listens on the `down` route's upstream.
  assert.equal((await hostGet(stack, `down.localhost:${port}`, '/', { accept: 'application/json' })).status, 502);
  await bob.context.close();

  const after = await scrape(stack.metricsUrls.all!);
  const moved = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
  assert.equal(after.types.get('vallum_http_request_duration_seconds'), 'histogram');
  // The two above, and the browser's landing after sign-in.
  assert.ok(moved('vallum_http_request_duration_seconds_count', { route: 'app', method: 'GET', status_class: '2xx', service: 'all' }) >= 3);
  assert.equal(moved('vallum_http_request_duration_seconds_count', { route: 'admin', method: 'GET', status_class: '4xx' }), 1);
  assert.ok(moved('vallum_http_request_duration_seconds_count', { route: 'app', method: 'GET', status_class: '3xx' }) >= 1);
  assert.equal(moved('vallum_http_request_duration_seconds_bucket', { route: 'admin', status_class: '4xx', le: '+Inf' }), 1);
  assert.equal(moved('vallum_http_request_duration_seconds_count', { route: 'down', status_class: '5xx' }), 1);
  assert.equal(moved('vallum_sign_ins_total', { result: 'success' }), 1);
  assert.ok(moved('vallum_authorize_decisions_total', { result: 'allow', reason: 'groups-ok' }) >= 3);
  assert.equal(moved('vallum_authorize_decisions_total', { result: 'deny' }), 1);
  assert.equal(moved('vallum_response_cache_requests_total', { route: 'limited', result: 'miss' }), 1);
  assert.equal(moved('vallum_response_cache_requests_total', { route: 'limited', result: 'hit' }), 1);
  assert.equal(moved('vallum_rate_limited_requests_total', { route: 'limited' }), 1);
  assert.equal(moved('vallum_upstream_errors_total', { upstream: `http://127.0.0.1:${upstreamDown}`, kind: 'connect' }), 1);
  // The miss went upstream; the hit did not.
  assert.equal(moved('vallum_upstream_request_duration_seconds_count', { upstream: new URL(cacheable.url).origin }), 1);
  assert.equal(sampleValue(after, 'vallum_upstream_healthy', { route: 'app' }), 1);
  // Labels are route ids and classes, never the raw path or the user.
  for (const s of after.samples) {
    for (const v of Object.values(s.labels)) assert.doesNotMatch(v, /\/user\/|bob@example\.com/);
  }
  // prom-client's process metrics and the event-loop lag are there, in this process's registry.
  assert.equal(after.types.get('process_cpu_seconds_total'), 'counter');
  assert.ok(sampleValue(after, 'nodejs_eventloop_lag_p99_seconds') >= 0);
});

test('/metrics is not served on the main listener, neither on a route host nor on the authenticate host', async () => {
  for (const host of [`public.localhost:${stack.port}`, `authenticate.localhost:${stack.port}`, `127.0.0.1:${stack.port}`]) {
    const res = await hostGet(stack, host, '/metrics');
    assert.doesNotMatch(res.text, /vallum_http_request_duration_seconds/, host);
  }
  // And the metrics listener serves nothing but /metrics and the probes.
  const other = await request(`${stack.metricsUrls.all}/`);
  assert.equal(other.statusCode, 404);
  await other.body.dump();
});

test('the metrics listener answers /healthz and /readyz at its root, from the same readiness as the main listener; only its /readyz says which checks pass', async () => {
  const health = await request(`${stack.metricsUrls.all}/healthz`);
  assert.equal(health.statusCode, 200);
  assert.deepEqual(await health.body.json(), { status: 'ok', service: 'vallum' });
  const ready = await request(`${stack.metricsUrls.all}/readyz`);
  const report = (await ready.body.json()) as { ready: boolean; checks: Array<{ name: string; ok: boolean }> };
  assert.equal(ready.statusCode, 200);
  assert.equal(report.ready, true);
  assert.ok(
    report.checks.some((c) => c.name === 'redis' && c.ok),
    JSON.stringify(report),
  );
  for (const host of [`public.localhost:${stack.port}`, `authenticate.localhost:${stack.port}`]) {
    const onRouteHost = await hostGet(stack, host, '/.vallum/readyz');
    assert.equal(onRouteHost.status, 200, host);
    assert.equal(onRouteHost.text, '{"status":"ready","service":"vallum"}', `${host}: the internet learns ready or not, nothing more`);
  }
});

test('every /healthz answers alike: the main listener under /.vallum/ and at the authenticate root, and the metrics listener', async () => {
  const answer = async (url: string, host?: string) => {
    const res = await request(url, host ? { headers: { host } } : {});
    const { 'content-type': type, 'cache-control': cache, 'content-length': length } = res.headers;
    return { status: res.statusCode, type, cache, length, body: await res.body.text() };
  };
  const onMetrics = await answer(`${stack.metricsUrls.all}/healthz`);
  assert.deepEqual(onMetrics, {
    status: 200,
    type: 'application/json; charset=utf-8',
    cache: 'no-store',
    length: '34',
    body: '{"status":"ok","service":"vallum"}',
  });
  const main = `http://127.0.0.1:${stack.port}`;
  assert.deepEqual(await answer(`${main}/.vallum/healthz`, `public.localhost:${stack.port}`), onMetrics, 'a route host');
  assert.deepEqual(await answer(`${main}/.vallum/healthz`, `authenticate.localhost:${stack.port}`), onMetrics, 'the authenticate host');
  assert.deepEqual(await answer(`${main}/healthz`, `authenticate.localhost:${stack.port}`), onMetrics, "the authenticate host's root");
});

test('split mode: every service process has its own metrics listener, and its own metrics', async () => {
  const split = await startStack({ mode: 'split', metrics: true });
  try {
    for (const service of ['proxy', 'authenticate', 'authorize', 'cache'] as const) {
      const scraped = await scrape(split.metricsUrls[service]!);
      assert.equal(scraped.types.get('process_cpu_seconds_total'), 'counter', service);
      assert.ok(
        scraped.samples.every((s) => s.labels.service === service),
        service,
      );
    }
    assert.equal((await hostGet(split, `public.localhost:${split.port}`, '/')).status, 200);
    const proxy = await scrape(split.metricsUrls.proxy!);
    assert.equal(sampleValue(proxy, 'vallum_http_request_duration_seconds_count', { route: 'public', status_class: '2xx' }), 1);
  } finally {
    await split.close();
  }
});
