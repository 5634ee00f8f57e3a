// THE LONG ONE (30-70 s on this 2-core machine, depending on its load). Many sessions in a real redis-server,
// written straight into the store's key format (bulk-load.ts). One refresher pass checks exactly the 10% that are
// due (the IdP calls replaced by a recorder; refresh against a real IdP is test/src/identity-refresh.test.ts) and
// drops schedule entries whose session is gone; the admin listing reads every session in batches (one MGET with
// every key threw RangeError near 100,000); signing one user out everywhere finds and ends their sessions.
//
// 50,000 in the suite, not 200,000: at 200,000 this machine (2 cores shared with other work) needed 44-70 s, and
// 100,000 up to 71 s under heavier load, most of it sealing every session's tokens while loading and opening them
// again while listing, not the refresher. `VALLUM_SCALE_SESSIONS=200000 node --test
// services/cache/dist-test/refresh-scale.test.js` runs it at 200,000; the figures are in docs/operations.md.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis } from '@vallum/testing';
import { bulkLoadSessions, bulkSessionId } from './bulk-load.js';
import { createRedisStore, startTokenRefresher, type IdpChecks } from './index.js';

const SESSIONS = Number(process.env['VALLUM_SCALE_SESSIONS'] ?? 50_000);
const USERS = SESSIONS / 100; // 100 sessions each
const VANISHED = 100; // due sessions whose record is gone behind the store (expired), left on the schedule
const SECRET = 's'.repeat(32);

const redis = await startRedis();
const raw = new Redis(redis.url);
const store = createRedisStore(redis.url, { tokenSecret: SECRET });
after(async () => {
  await store.close();
  raw.disconnect();
  await redis.stop();
});

const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await raw.info('memory'))?.[1]);

test(`${SESSIONS.toLocaleString('en')} sessions in Redis: a refresher pass checks exactly the due ones; listing and signing a user out work`, async (t) => {
  const loadStart = Date.now();
  const due = await bulkLoadSessions(redis.port, { count: SESSIONS, dueEvery: 10, users: USERS, tokenSecret: SECRET });
  const vanished = [...due].slice(0, VANISHED);
  await raw.del(...vanished.map((id) => `vallum:{${id}}:session`));
  for (const id of vanished) due.delete(id);
  t.diagnostic(`loaded ${SESSIONS} sessions in ${Date.now() - loadStart} ms`);
  assert.equal(await raw.zcard('vallum:refresh-due'), SESSIONS);

  // One pass, with userinfo answering the claims the sessions already have (nothing to write back).
  const asked: string[] = [];
  const checks: IdpChecks = {
    refreshTokens: () => Promise.reject(new Error('no token is near its expiry')),
    userinfo: async (s) => {
      asked.push(s.id);
      return { sub: s.sub, email: s.email, groups: s.groups, claims: s.claims };
    },
  };
  const refresher = startTokenRefresher({ idps: {}, tokenRefreshIntervalMs: 60_000 }, store, { checks });
  const rssBefore = process.memoryUsage().rss;
  const redisBefore = await usedMemory();
  const passStart = performance.now();
  const checked = await refresher.runOnce();
  const passMs = performance.now() - passStart;
  const rssDelta = process.memoryUsage().rss - rssBefore;
  const redisDelta = (await usedMemory()) - redisBefore;
  t.diagnostic(
    `refresher pass: ${checked} due of ${SESSIONS} in ${passMs.toFixed(0)} ms (${((passMs / checked) * 10_000).toFixed(0)} ms per 10,000 due); ` +
      `RSS ${(rssDelta / 1048576).toFixed(1)} MiB, Redis used_memory ${(redisDelta / 1024).toFixed(0)} KiB (deltas)`,
  );
  assert.equal(checked, due.size, 'every due session, and no other, was checked');
  assert.equal(asked.length, due.size, 'each once');
  assert.deepEqual(new Set(asked), due);
  for (const id of vanished) assert.equal(await raw.zscore('vallum:refresh-due', id), null, 'a gone session leaves the schedule when read');
  assert.equal(await raw.zcard('vallum:refresh-due'), SESSIONS - VANISHED);
  assert.equal(await refresher.runOnce(), 0, 'the checked sessions are next due an interval later');
  await refresher.close();

  // The admin listing (a query not by user, e.g. by IdP session) reads every session, in batches.
  const listStart = Date.now();
  const listed = await store.listSessions();
  t.diagnostic(`listed ${listed.length} sessions in ${Date.now() - listStart} ms`);
  assert.equal(listed.length, SESSIONS - VANISHED);

  // Signing a user out everywhere finds their sessions through the user's index and ends them all.
  const sub = `user-${USERS - 1}`;
  const theirs = await store.findSessions({ sub });
  assert.equal(theirs.length, SESSIONS / USERS);
  for (const s of theirs) await store.deleteSession(s.id);
  assert.deepEqual(await store.findSessions({ sub }), []);
  for (const s of theirs) assert.equal(await raw.zscore('vallum:refresh-due', s.id), null, 'an ended session leaves the schedule');
  assert.ok(await store.getSession(bulkSessionId(1)), "another user's session is untouched");
});
