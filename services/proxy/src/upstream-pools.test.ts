// The process's upstream pools: one per upstream and connection settings, made on first use, shared by the routes
// that name it, closed when the last route naming it is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '@vallum/config';
import { createUpstreamPools } from './upstream-pools.js';

function routes(...lines: string[]) {
  return loadConfigText(
    `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: s, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
routes:
${lines.map((l, i) => `  - { from: "http://r${i}.localhost:8000", allow_public_unauthenticated_access: true, ${l} }`).join('\n')}
`,
    'vallum.yaml',
    { env: {} },
  ).routes;
}

test('routes naming the same upstream with the same settings share one dispatcher, made on first use', async () => {
  const [a, b, c] = routes('to: "http://127.0.0.1:9001"', 'to: "http://127.0.0.1:9001/base"', 'to: "http://127.0.0.1:9002"');
  const pools = createUpstreamPools();
  const leaseA = pools.lease(a!, a!.to[0]!);
  const leaseB = pools.lease(b!, b!.to[0]!);
  const leaseC = pools.lease(c!, c!.to[0]!);
  assert.deepEqual(pools.size(), { leased: 2, made: 0 }, 'nothing is made before a request needs it');
  assert.equal(leaseA.dispatcher(), leaseB.dispatcher());
  assert.notEqual(leaseA.dispatcher(), leaseC.dispatcher());
  assert.deepEqual(pools.size(), { leased: 2, made: 2 });
  await pools.close();
});

test('different connection settings get different dispatchers', async () => {
  const [a, b] = routes('to: "http://127.0.0.1:9001"', 'to: "http://127.0.0.1:9001", connect_timeout: 2s');
  const pools = createUpstreamPools();
  assert.notEqual(pools.lease(a!, a!.to[0]!).dispatcher(), pools.lease(b!, b!.to[0]!).dispatcher());
  await pools.close();
});

test('a dispatcher stays open while a lease holds it and closes with the last one', async () => {
  const [a] = routes('to: "http://127.0.0.1:9001"');
  const pools = createUpstreamPools();
  const first = pools.lease(a!, a!.to[0]!);
  const dispatcher = first.dispatcher();
  const second = pools.lease(a!, a!.to[0]!);
  await first.release();
  await first.release();
  assert.equal(second.dispatcher(), dispatcher, 'still leased by the second');
  assert.equal((dispatcher as unknown as { closed: boolean }).closed, false);
  await second.release();
  assert.equal((dispatcher as unknown as { closed: boolean }).closed, true);
  assert.deepEqual(pools.size(), { leased: 0, made: 0 });
  const again = pools.lease(a!, a!.to[0]!);
  assert.notEqual(again.dispatcher(), dispatcher, 'a new lease after the last release gets a new dispatcher');
  await pools.close();
});
