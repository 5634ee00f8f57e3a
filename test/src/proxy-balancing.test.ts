// Load balancing over `to` lists (weights, round_robin, least_request, random, ring_hash), the retry of an
// idempotent request on another endpoint, passive ejection and active health checks with automatic return, and
// panic mode: with no upstream healthy, they are tried anyway.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getFreePort } from '@vallum/testing';
import { publicRoute, startProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-fixture.js';

let proxy: TestProxy;
const ups: TestUpstream[] = [];
let healthy = true;
let failing = false;
let closedPort: number;

before(async () => {
  for (let i = 0; i < 3; i++) {
    ups.push(
      await startUpstream((req, res) => {
        if (req.url === '/health') return void res.writeHead(healthy || i !== 2 ? 200 : 503).end();
        if (req.url === '/slow') return void setTimeout(() => res.end(String(i)), 300);
        if (req.url === '/hold-on-0') return void setTimeout(() => res.end(String(i)), i === 0 ? 2000 : 0);
        if (failing && i === 0) return void res.writeHead(500).end('boom');
        res.end(String(i));
      }),
    );
  }
  closedPort = await getFreePort();
  const [a, b, c] = ups.map((u) => u.url) as [string, string, string];
  proxy = await startProxy(
    (port) =>
      publicRoute('rr.localhost', port, [`${a},3`, `${b},1`]) +
      publicRoute('least.localhost', port, [a, b], `lb_policy: least_request`) +
      publicRoute('rand.localhost', port, [a, b, c], `lb_policy: random`) +
      publicRoute('ring.localhost', port, [a, b, c], `lb_policy: ring_hash\nlb_hash: { header: X-User }`) +
      publicRoute('sticky.localhost', port, [a, b, c], `lb_policy: ring_hash\nlb_hash: { cookie: sticky }`) +
      publicRoute('retry.localhost', port, [`http://127.0.0.1:${closedPort}`, b]) +
      publicRoute('passive.localhost', port, [a, b], `outlier_detection: { consecutive_errors: 2, ejection_time: 700ms }`) +
      publicRoute(
        'active.localhost',
        port,
        [b, c],
        `health_check: { path: /health, interval: 100ms, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 1 }`,
      ) +
      publicRoute('none.localhost', port, [c], `health_check: { path: /health, interval: 100ms, unhealthy_threshold: 1, healthy_threshold: 1 }`),
  );
});

after(async () => {
  await proxy?.close();
  for (const u of ups) await u.close();
});

const hit = async (host: string, headers: Record<string, string> = {}, path = '/') => {
  const res = await proxy.call(host, path, { headers });
  return { status: res.statusCode, body: await res.body.text() };
};
const tally = async (host: string, n: number, headers: Record<string, string> = {}) => {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const { body } = await hit(host, headers);
    counts[body] = (counts[body] ?? 0) + 1;
  }
  return counts;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('weighted round robin follows the weights exactly; random spreads over all', async () => {
  assert.deepEqual(await tally('rr.localhost', 40), { '0': 30, '1': 10 });
  const random = await tally('rand.localhost', 90);
  assert.deepEqual(Object.keys(random).sort(), ['0', '1', '2']);
});

test('least_request sends new requests to the endpoint with fewer in flight', async () => {
  // Two at once land one on each endpoint; endpoint 0 holds its request, so it keeps one in flight.
  const held = [hit('least.localhost', {}, '/hold-on-0'), hit('least.localhost', {}, '/hold-on-0')];
  const first = await Promise.race(held);
  assert.equal(first.body, '1', 'endpoint 1 answered at once');
  // Round robin or random would send about half of these to endpoint 0, which still has a request in flight.
  const bodies: string[] = [];
  for (let n = 0; n < 6; n++) bodies.push((await hit('least.localhost')).body);
  assert.deepEqual(bodies, ['1', '1', '1', '1', '1', '1']);
  assert.deepEqual((await Promise.all(held)).map((r) => r.body).sort(), ['0', '1']);
});

test('ring_hash keeps a key (header or cookie) on one endpoint and spreads different keys', async () => {
  const seen = new Set<string>();
  for (let u = 0; u < 12; u++) {
    const byHeader = await tally('ring.localhost', 4, { 'x-user': `user-${u}` });
    assert.equal(Object.keys(byHeader).length, 1, `user-${u} stays on one endpoint`);
    seen.add(Object.keys(byHeader)[0]!);
    const byCookie = await tally('sticky.localhost', 3, { cookie: `a=b; sticky=s${u}` });
    assert.equal(Object.keys(byCookie).length, 1);
  }
  assert.ok(seen.size >= 2, 'different keys land on different endpoints');
});

test('an idempotent request that cannot connect is retried once on another endpoint; a POST is not', async () => {
  for (let i = 0; i < 4; i++) assert.deepEqual(await hit('retry.localhost'), { status: 200, body: '1' });
  const statuses = new Set<number>();
  for (let i = 0; i < 4; i++) statuses.add((await proxy.call('retry.localhost', '/', { method: 'POST', body: 'x' })).statusCode);
  assert.ok(statuses.has(502), 'a POST to the refusing endpoint is not retried');
});

test('passive health: consecutive 5xx eject an endpoint, which is probed and returns once it answers', async () => {
  failing = true;
  try {
    const first = await tally('passive.localhost', 10);
    assert.ok((first['boom'] ?? 0) <= 2, `at most 2 errors before ejection, got ${JSON.stringify(first)}`);
    assert.deepEqual(await tally('passive.localhost', 4), { '1': 4 });
  } finally {
    failing = false;
  }
  await sleep(800);
  assert.deepEqual(await tally('passive.localhost', 4), { '0': 2, '1': 2 });
});

test('active health checks take an endpoint out and bring it back; with none healthy it is tried anyway', async () => {
  healthy = false;
  await sleep(400);
  assert.deepEqual(await tally('active.localhost', 4), { '1': 4 });
  // Panic mode: a failing health check is no reason to answer 503 without trying (here the app itself answers).
  assert.deepEqual(await hit('none.localhost'), { status: 200, body: '2' });
  healthy = true;
  await sleep(400);
  assert.deepEqual(await tally('active.localhost', 4), { '1': 2, '2': 2 });
});
