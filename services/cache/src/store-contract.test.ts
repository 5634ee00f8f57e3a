// One contract, run against every session store: memory, Redis (one server, a Cluster of three masters and three
// replicas, a Sentinel-watched master with two replicas), and the cache service over HTTP in front of memory and Redis.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServiceTokenSigner } from '@vallum/service-auth';
import { apiTokenEvent, createHttpCacheClient, type CacheApi } from '@vallum/service-client';
import type { Session } from '@vallum/session';
import { startRedis, startRedisCluster, startRedisSentinel } from '@vallum/testing';
import { buildApp, createMemoryStore, createRedisStore } from './index.js';

const SECRET = 's'.repeat(32);
const [redis, cluster, sentinel] = await Promise.all([startRedis(), startRedisCluster(), startRedisSentinel()]);
const closers: Array<() => Promise<unknown>> = [() => redis.stop(), () => cluster.stop(), () => sentinel.stop()];
after(async () => {
  for (const close of closers.reverse()) await close();
});

function session(id: string, ttlMs = 60_000): Session {
  const now = Date.now();
  return {
    id,
    sub: `sub-${id}`,
    email: `${id}@example.com`,
    groups: ['a', 'b'],
    claims: { dept: 'x' },
    refreshToken: 'rt',
    createdAt: now,
    expiresAt: now + ttlMs,
  };
}

async function overHttp(store: CacheApi): Promise<CacheApi> {
  const app = buildApp({ sharedSecret: SECRET }, { store, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => app.close());
  const { port } = app.server.address() as { port: number };
  return createHttpCacheClient({ url: `http://127.0.0.1:${port}`, service: 'cache', signer: createServiceTokenSigner(SECRET, 'authenticate') });
}

const memory = createMemoryStore();
const redisStore = createRedisStore(redis.url, { tokenSecret: SECRET });
// Every multi-key operation of a session must stay in one slot (a Cluster refuses others with CROSSSLOT), and writes
// wait for a replica on both topologies.
const clusterStore = createRedisStore(cluster.url, { tokenSecret: SECRET });
const sentinelStore = createRedisStore(sentinel.url, { tokenSecret: SECRET });
closers.push(
  () => memory.close(),
  () => redisStore.close(),
  () => clusterStore.close(),
  () => sentinelStore.close(),
);

const stores: Array<[string, () => Promise<CacheApi>]> = [
  ['memory', async () => memory],
  ['redis', async () => redisStore],
  ['http+memory', () => overHttp(createMemoryStore())],
  ['http+redis', () => overHttp(redisStore)],
  ['redis-cluster', async () => clusterStore],
  ['redis-sentinel', async () => sentinelStore],
];

for (const [name, make] of stores) {
  test(`${name}: a stored session is read back whole, and is gone once deleted`, async () => {
    const store = await make();
    const s = session(`${name}-1`);
    await store.putSession(s);
    assert.deepEqual(await store.getSession(s.id), s);
    await store.deleteSession(s.id);
    assert.equal(await store.getSession(s.id), null);
    assert.equal(await store.getSession('never-stored'), null);
  });

  test(`${name}: endSession ends the session at once and keeps only its ID token, to be taken once`, async () => {
    const store = await make();
    const heard: string[] = [];
    const unsubscribe = store.subscribe((sid) => heard.push(sid));
    try {
      await new Promise((r) => setTimeout(r, 100));
      const s = { ...session(`${name}-ended`), idToken: 'id.token.value' };
      await store.putSession(s);
      await store.endSession(s.id, 60);
      assert.equal(await store.getSession(s.id), null);
      assert.equal(await store.updateSession(s), false, 'an ended session is never brought back');
      assert.equal(await store.takeEndedIdToken(s.id), 'id.token.value');
      assert.equal(await store.takeEndedIdToken(s.id), null, 'taken once');
      const plain = session(`${name}-ended-plain`);
      await store.putSession(plain);
      await store.endSession(plain.id, 60);
      assert.equal(await store.takeEndedIdToken(plain.id), null);
      const deadline = Date.now() + 2000;
      while (!heard.includes(plain.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(heard.includes(s.id) && heard.includes(plain.id), 'subscribers hear of ended sessions');
    } finally {
      unsubscribe();
    }
  });

  test(`${name}: an expired session is not returned`, async () => {
    const store = await make();
    const s = session(`${name}-2`, 150);
    await store.putSession(s);
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(await store.getSession(s.id), null);
  });

  test(`${name}: claimOnce succeeds once per key`, async () => {
    const store = await make();
    assert.equal(await store.claimOnce(`${name}-k`, 60), true);
    assert.equal(await store.claimOnce(`${name}-k`, 60), false);
    assert.equal(await store.claimOnce(`${name}-other`, 60), true);
  });

  test(`${name}: a one-time value is taken once, and not after its time`, async () => {
    const store = await make();
    const value = 'sealed'.repeat(20_000);
    await store.putOneTimeValue(`${name}-v`, value, 60);
    assert.equal(await store.takeOneTimeValue(`${name}-v`), value);
    assert.equal(await store.takeOneTimeValue(`${name}-v`), null, 'a second take finds nothing');
    assert.equal(await store.takeOneTimeValue(`${name}-never`), null);
    await store.putOneTimeValue(`${name}-short`, 'x', 1);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await store.takeOneTimeValue(`${name}-short`), null, 'expired');
  });

  test(`${name}: updateSession replaces a live session but never brings back a deleted one`, async () => {
    const store = await make();
    const s = session(`${name}-3`);
    await store.putSession(s);
    assert.equal(await store.updateSession({ ...s, groups: ['c'] }), true);
    assert.deepEqual((await store.getSession(s.id))?.groups, ['c']);
    await store.deleteSession(s.id);
    assert.equal(await store.updateSession(s), false);
    assert.equal(await store.getSession(s.id), null);
  });

  test(`${name}: a session with an idle timeout ends when idle and lives on while touched`, async () => {
    const store = await make();
    // Generous margins: the whole suite runs two files at once on two cores.
    const busy = { ...session(`${name}-busy`), idleTimeoutMs: 1000 };
    const idle = { ...session(`${name}-idle`), idleTimeoutMs: 1000 };
    await store.putSession(busy);
    await store.putSession(idle);
    const start = Date.now();
    while (Date.now() - start < 1300) {
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await store.touchSession(busy.id), true);
    }
    assert.equal((await store.getSession(busy.id))?.id, busy.id);
    assert.equal(await store.getSession(idle.id), null);
    assert.equal(await store.touchSession(idle.id), false);
  });

  test(`${name}: findSessions lists a user's live sessions, optionally of one IdP session`, async () => {
    const store = await make();
    const sub = `user-${name}`;
    const a = { ...session(`${name}-a`), sub, idpSid: `idp-1-${name}` };
    const b = { ...session(`${name}-b`), sub, idpSid: `idp-2-${name}` };
    const other = session(`${name}-c`);
    for (const s of [a, b, other]) await store.putSession(s);
    assert.deepEqual((await store.findSessions({ sub })).map((s) => s.id).sort(), [a.id, b.id]);
    assert.deepEqual(
      (await store.findSessions({ sub, idpSid: `idp-2-${name}` })).map((s) => s.id),
      [b.id],
    );
    assert.deepEqual(
      (await store.findSessions({ idpSid: `idp-2-${name}` })).map((s) => s.id),
      [b.id],
      'an IdP session alone finds its sessions',
    );
    await store.deleteSession(a.id);
    assert.deepEqual(
      (await store.findSessions({ sub })).map((s) => s.id),
      [b.id],
    );
  });

  test(`${name}: subscribers hear of every changed or deleted session`, async () => {
    const store = await make();
    const heard: string[] = [];
    const unsubscribe = store.subscribe((sid) => heard.push(sid));
    try {
      await new Promise((r) => setTimeout(r, 200));
      const s = session(`${name}-events`);
      await store.putSession(s);
      await store.updateSession({ ...s, email: 'new@example.com' });
      await store.deleteSession(s.id);
      const deadline = Date.now() + 2000;
      while (heard.filter((x) => x === s.id).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        heard.filter((x) => x === s.id),
        [s.id, s.id, s.id],
      );
    } finally {
      unsubscribe();
    }
  });

  test(`${name}: a recorded service-account token is listed, and once revoked is denied, listed as revoked, and announced`, async () => {
    const store = await make();
    const heard: string[] = [];
    const unsubscribe = store.subscribe((sid) => heard.push(sid));
    try {
      await new Promise((r) => setTimeout(r, 200));
      const now = Date.now();
      const record = { jti: `jti-${name}`, subject: 'ci', groups: ['g'], issuedAt: now, expiresAt: now + 60_000, description: 'deploys' };
      await store.recordApiToken(record);
      await store.recordApiToken({ ...record, jti: `gone-${name}`, expiresAt: now + 100 });
      await new Promise((r) => setTimeout(r, 250));
      assert.deepEqual(
        (await store.listApiTokens()).filter((r) => r.jti.endsWith(name)),
        [record],
        'expired records are not listed',
      );
      assert.equal(await store.isApiTokenRevoked(record.jti), false);
      await store.revokeApiToken(record.jti, record.expiresAt);
      await store.revokeApiToken(`unrecorded-${name}`, now + 60_000);
      assert.equal(await store.isApiTokenRevoked(record.jti), true);
      assert.equal(await store.isApiTokenRevoked(`unrecorded-${name}`), true, 'a token issued without a record can still be revoked');
      const listed = (await store.listApiTokens()).find((r) => r.jti === record.jti);
      assert.ok(listed?.revokedAt && listed.revokedAt >= now);
      const deadline = Date.now() + 2000;
      while (!heard.includes(apiTokenEvent(record.jti)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(heard.includes(apiTokenEvent(record.jti)));
      await store.revokeApiToken(`short-${name}`, Date.now() + 100);
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(await store.isApiTokenRevoked(`short-${name}`), false, 'the deny list entry ends when the token would have expired');
    } finally {
      unsubscribe();
    }
  });
}

test('the cache service refuses calls without a valid service token', async () => {
  const app = buildApp({ sharedSecret: SECRET }, { store: createMemoryStore(), logger: false });
  closers.push(() => app.close());
  const anonymous = await app.inject({ method: 'GET', url: '/v1/sessions/x' });
  assert.equal(anonymous.statusCode, 401);
  const wrong = createServiceTokenSigner('w'.repeat(32), 'proxy');
  const forged = await app.inject({ method: 'GET', url: '/v1/sessions/x', headers: { authorization: `Bearer ${await wrong.token('cache')}` } });
  assert.equal(forged.statusCode, 401);
  const right = createServiceTokenSigner(SECRET, 'proxy');
  const ok = await app.inject({ method: 'GET', url: '/v1/sessions/x', headers: { authorization: `Bearer ${await right.token('cache')}` } });
  assert.equal(ok.statusCode, 404);
});

test('redis down gives a clear 503 error at once, and the store recovers when redis is back', async () => {
  const store = createRedisStore(redis.url, { tokenSecret: SECRET });
  closers.push(() => store.close());
  await store.putSession(session('before-outage'));
  await store.ping();
  await redis.stop();
  await assert.rejects(store.getSession('before-outage'), { code: 'VALLUM_CACHE_UNAVAILABLE', status: 503 });
  await assert.rejects(store.ping(), { code: 'VALLUM_CACHE_UNAVAILABLE' }, 'readiness sees the outage');
  await redis.restart();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await store.putSession(session('after-outage'));
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  assert.equal((await store.getSession('after-outage'))?.email, 'after-outage@example.com');
  await store.ping();
});
