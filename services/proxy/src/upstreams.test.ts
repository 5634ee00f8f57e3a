// Upstream host names are resolved again on upstream_dns_ttl: real servers on 127.0.0.1 and 127.0.0.2 (same port,
// as DNS only gives addresses) and a lookup whose answer the test switches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { H1Upstream } from './h1-upstream.js';
import { loadConfigText } from '@vallum/config';
import { createRouteUpstreams, type UpstreamLookup } from './upstreams.js';

interface Upstream {
  server: Server;
  seen: IncomingMessage[];
}

function upstream(name: string): Upstream {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.end(name);
  });
  return { server, seen };
}

const listen = (server: Server, port: number, host: string) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

/** `one` on 127.0.0.1 and `two` on 127.0.0.2, both on port `port`. */
async function twoUpstreams(t: { after(fn: () => Promise<void>): void }): Promise<{ one: Upstream; two: Upstream; port: number }> {
  const one = upstream('one');
  const two = upstream('two');
  await listen(one.server, 0, '127.0.0.1');
  const { port } = one.server.address() as AddressInfo;
  await listen(two.server, port, '127.0.0.2');
  t.after(async () => {
    for (const s of [one.server, two.server]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
  return { one, two, port };
}

/** The route of a config with `top` keys; `extra` is added to the route. */
function routeTo(to: string, top: string, extra = '') {
  const config = loadConfigText(
    `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: s, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
${top}
routes:
  - from: http://app.localhost:8000
    to: ${to}
    allow_public_unauthenticated_access: true
    ${extra}
`,
    'vallum.yaml',
    { env: {} },
  );
  return config.routes[0]!;
}

/** A resolver answering with `state.address`, counting its calls in `state.calls`. */
function switchableLookup(address: string) {
  const state = { address, calls: 0 };
  const lookup: UpstreamLookup = (_origin, _options, callback) => {
    state.calls++;
    callback(null, [{ address: state.address, family: 4, ttl: 3_600_000 }]);
  };
  return { state, lookup };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a named upstream is resolved again after upstream_dns_ttl: requests move to the new address and leave the old one', async (t) => {
  const { one, two, port } = await twoUpstreams(t);
  const ttlMs = 300;
  const { state, lookup } = switchableLookup('127.0.0.1');
  const upstreams = createRouteUpstreams(routeTo(`http://upstream.test:${port}`, `upstream_dns_ttl: ${ttlMs}ms`), { lookup });
  t.after(() => upstreams.close());
  const endpoint = upstreams.balancer.endpoints[0]!;
  const get = async () => {
    const res = await upstreams.pool(endpoint).request({ path: '/', method: 'GET' });
    return res.body.text();
  };

  assert.equal(await get(), 'one');
  assert.equal(one.seen[0]!.headers.host, `upstream.test:${port}`, 'the name, not the address, is the Host');
  state.address = '127.0.0.2';
  const switched = Date.now();
  let answer = await get();
  while (answer === 'one' && Date.now() - switched < ttlMs + 2_000) {
    await sleep(25);
    answer = await get();
  }
  assert.equal(answer, 'two');
  assert.ok(Date.now() - switched < ttlMs + 1_000, `moved after ${Date.now() - switched} ms, TTL ${ttlMs} ms`);

  const oneServed = one.seen.length;
  for (let i = 0; i < 5; i++) assert.equal(await get(), 'two');
  assert.equal(one.seen.length, oneServed, 'the old address gets no request once it left the answer');
  assert.equal(two.seen.at(-1)!.headers.host, `upstream.test:${port}`);
  // Idle connections to the old address close (keep-alive is capped by the TTL) instead of lingering.
  const started = Date.now();
  while ((await connectionsOf(one.server)) > 0 && Date.now() - started < 3_000) await sleep(50);
  assert.equal(await connectionsOf(one.server), 0);
  assert.ok(state.calls >= 2 && state.calls < 20, `resolved ${state.calls} times, not per request`);
});

test('an IP upstream is never looked up and is spoken to by Vallum’s own HTTP/1.1 client, with no interceptor in front', async (t) => {
  const { one, port } = await twoUpstreams(t);
  const { state, lookup } = switchableLookup('127.0.0.2');
  const upstreams = createRouteUpstreams(routeTo(`http://127.0.0.1:${port}`, 'upstream_dns_ttl: 1ms'), { lookup });
  t.after(() => upstreams.close());
  const pool = upstreams.pool(upstreams.balancer.endpoints[0]!);
  assert.ok(pool instanceof H1Upstream);
  assert.equal(pool.dispatch, H1Upstream.prototype.dispatch);
  for (let i = 0; i < 3; i++) {
    assert.equal(await (await pool.request({ path: '/', method: 'GET' })).body.text(), 'one');
    await sleep(5);
  }
  assert.equal(state.calls, 0);
  assert.equal(one.seen.length, 3);
});

test('health checks of a named upstream go through the same resolution, with the name as Host', async (t) => {
  const { two, port } = await twoUpstreams(t);
  const { lookup } = switchableLookup('127.0.0.2');
  const route = routeTo(`http://upstream.test:${port}`, '', 'health_check: { path: /healthz, interval: 50ms }');
  const upstreams = createRouteUpstreams(route, { lookup });
  t.after(() => upstreams.close());
  const started = Date.now();
  while (two.seen.length === 0 && Date.now() - started < 2_000) await sleep(20);
  const probe = two.seen[0];
  assert.ok(probe, 'the probe reached the resolved address');
  assert.equal(probe.url, '/healthz');
  assert.equal(probe.headers.host, `upstream.test:${port}`);
});

function connectionsOf(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}
