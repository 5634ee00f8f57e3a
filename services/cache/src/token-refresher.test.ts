// The token refresher's schedule and leadership, with the IdP calls replaced by a recorder (refresh against the
// real oidc-provider is test/src/identity-refresh.test.ts): a pass checks only the sessions that are due, drops
// schedule entries whose session is gone, and one refresher leads among processes sharing a Redis.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { ErrorCodes, VallumError } from '@vallum/errors';
import type { Session } from '@vallum/session';
import { startRedis } from '@vallum/testing';
import { createMemoryStore, createRedisStore, startTokenRefresher, type IdpChecks, type SessionStore } from './index.js';

const SECRET = 's'.repeat(32);
const INTERVAL_MS = 60_000;
const config = { idps: {}, tokenRefreshIntervalMs: INTERVAL_MS };
const redis = await startRedis();
const raw = new Redis(redis.url);
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const close of closers.reverse()) await close();
  raw.disconnect();
  await redis.stop();
});

function session(id: string, extra: Partial<Session> = {}): Session {
  const now = Date.now();
  return {
    id,
    sub: `sub-${id}`,
    email: `${id}@example.com`,
    groups: [],
    claims: {},
    accessToken: `at-${id}`,
    createdAt: now,
    expiresAt: now + 600_000,
    ...extra,
  };
}

/** Answers userinfo with the session's own claims (nothing to write), or with `refuse`/`fail` for the ids named. */
function recordingIdp(behaviour: { refuse?: string[]; fail?: string[] } = {}): IdpChecks & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async refreshTokens(s) {
      asked.push(s.id);
      return { sub: s.sub, email: s.email, groups: s.groups, claims: s.claims, accessToken: `${s.accessToken}+`, tokenExpiresAt: Date.now() + 3_600_000 };
    },
    async userinfo(s) {
      asked.push(s.id);
      if (behaviour.refuse?.includes(s.id)) throw new VallumError(ErrorCodes.IDENTITY_INVALID, 'user removed at the IdP', { status: 401 });
      if (behaviour.fail?.includes(s.id)) throw new Error('IdP answered 502');
      return { sub: s.sub, email: s.email, groups: s.groups, claims: s.claims };
    },
  };
}

function redisStore(): SessionStore {
  const store = createRedisStore(redis.url, { tokenSecret: SECRET });
  closers.push(() => store.close());
  return store;
}

for (const [name, makeStore] of [
  ['memory', () => createMemoryStore() as SessionStore],
  ['Redis', redisStore],
] as const) {
  test(`${name}: a pass checks only the sessions that are due, each once, and the next pass none of them`, async () => {
    const store = makeStore();
    await raw.flushall();
    for (const id of ['due-1', 'due-2', 'later-1']) await store.putSession(session(id));
    const { accessToken: _none, ...noTokens } = session('no-tokens');
    await store.putSession(noTokens);
    await store.scheduleChecks([{ id: 'later-1', at: Date.now() + 10 * INTERVAL_MS }]);
    const idp = recordingIdp();
    const refresher = startTokenRefresher(config, store, { checks: idp });
    assert.equal(await refresher.runOnce(), 3, 'due-1, due-2 and no-tokens were due');
    assert.deepEqual(idp.asked.sort(), ['due-1', 'due-2'], 'a session without tokens is not asked about');
    assert.equal(await refresher.runOnce(), 0, 'checked sessions are next due an interval later');
    assert.deepEqual((await store.dueSessions(Date.now() + INTERVAL_MS + 1, 10)).seen.sort(), ['due-1', 'due-2'], 'no-tokens is off the schedule');
    await refresher.close();
  });

  test(`${name}: a session the IdP refuses ends; one the IdP fails to answer stays and is retried after a back-off`, async () => {
    const store = makeStore();
    await raw.flushall();
    for (const id of ['refused', 'failing', 'fine']) await store.putSession(session(id));
    const refresher = startTokenRefresher(config, store, { checks: recordingIdp({ refuse: ['refused'], fail: ['failing'] }) });
    assert.equal(await refresher.runOnce(), 3);
    assert.equal(await store.getSession('refused'), null);
    assert.ok(await store.getSession('failing'), 'an IdP outage signs nobody out');
    const retry = await store.dueSessions(Date.now() + INTERVAL_MS + 1, 10);
    assert.deepEqual(retry.sessions.map((s) => s.id).sort(), ['failing', 'fine'], 'the refused session left the schedule with its record');
    await refresher.close();
  });
}

test('Redis: a schedule entry whose session expired or was removed behind the store is dropped when read', async () => {
  const store = redisStore();
  await raw.flushall();
  await store.putSession(session('kept'));
  await store.putSession(session('vanished'));
  await raw.del('vallum:{vanished}:session');
  const idp = recordingIdp();
  const refresher = startTokenRefresher(config, store, { checks: idp });
  assert.equal(await refresher.runOnce(), 1);
  assert.deepEqual(idp.asked, ['kept']);
  assert.equal(await raw.zscore('vallum:refresh-due', 'vanished'), null);
  assert.ok(Number(await raw.zscore('vallum:refresh-due', 'kept')) > Date.now());
  await refresher.close();
});

test('Redis: sessions written before the schedule existed are put on it by the first leader, once', async () => {
  const store = redisStore();
  await raw.flushall();
  await store.putSession(session('old-1'));
  await store.putSession(session('old-2'));
  await raw.del('vallum:refresh-due');
  const idp = recordingIdp();
  const refresher = startTokenRefresher(config, store, { checks: idp });
  assert.equal(await refresher.runOnce(), 2);
  assert.equal(await raw.get('vallum:refresh-due:indexed'), '1');
  await refresher.close();
});

test('Redis: one refresher leads among the processes; when it stops or dies another takes over within the lease', async () => {
  const LEASE_MS = 1000;
  const [storeA, storeB, storeC] = [redisStore(), redisStore(), redisStore()];
  await raw.flushall();
  for (let i = 0; i < 20; i++) await storeA.putSession(session(`s${i}`));
  const [idpA, idpB, idpC] = [recordingIdp(), recordingIdp(), recordingIdp()];
  const a = startTokenRefresher(config, storeA, { checks: idpA, leaseMs: LEASE_MS });
  const b = startTokenRefresher(config, storeB, { checks: idpB, leaseMs: LEASE_MS });
  const c = startTokenRefresher(config, storeC, { checks: idpC, leaseMs: LEASE_MS });
  const [checkedA, checkedB] = await Promise.all([a.runOnce(), b.runOnce()]);
  assert.equal(checkedA + checkedB, 20, 'the sessions were checked once, by the leader');
  assert.ok((a.leading() === undefined) !== (b.leading() === undefined), 'exactly one of them leads');
  const [leader, follower, leaderIdp] = a.leading() !== undefined ? [a, b, idpA] : [b, a, idpB];
  assert.equal(leaderIdp.asked.length, 20);
  const firstFence = leader.leading()!;

  // The leader stops (a restart, a reload): it gives the lease back, and the follower leads at its next pass.
  await leader.close();
  await storeA.putSession(session('after-stop'));
  assert.equal(await follower.runOnce(), 1);
  const secondFence = follower.leading();
  assert.ok(secondFence !== undefined && secondFence > firstFence, `fence ${secondFence} after ${firstFence}`);

  // The new leader dies (no renewal, no release): nobody else leads until its lease lapses, then the next does.
  assert.equal(await c.runOnce(), 0);
  const diedAt = Date.now();
  let takenAt = 0;
  while (Date.now() - diedAt < 3 * LEASE_MS) {
    if ((await c.runOnce()) >= 0 && c.leading() !== undefined) {
      takenAt = Date.now();
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(takenAt > 0, 'a refresher took over');
  assert.ok(takenAt - diedAt <= LEASE_MS + 500, `taken over ${takenAt - diedAt} ms after the leader died (lease ${LEASE_MS} ms)`);
  assert.ok(c.leading()! > secondFence, 'each new leader draws a higher fencing number');
  // The old leader comes back (a long GC pause): its lease is gone, so it checks nothing.
  await storeA.putSession(session('after-death'));
  assert.equal(await follower.runOnce(), 0);
  assert.equal(follower.leading(), undefined);
  assert.equal(await c.runOnce(), 1);
  await Promise.all([follower.close(), c.close()]);
});
