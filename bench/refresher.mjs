#!/usr/bin/env node
// The token refresher at scale, in one run on one real redis-server:
// - Redis bytes per session: used_memory over 10,000 sessions with ~900-byte ID and access tokens (as an IdP issues;
//   bench/redis-topologies.mjs measures the same way through the store),
//   each with its user index and its entry on the refresh schedule, and the schedule's share alone;
// - one refresher pass over N sessions (default 200,000) of which 10% are due, the IdP calls replaced by a recorder
//   that answers at once: its time per 10,000 due sessions, the RSS and Redis used_memory it adds, as a ratio to the
//   baseline, one walk over every session (what each pass did before the schedule: list all, then filter).
// Run: npx tsc -b && node bench/refresher.mjs [--sessions 200000]
import { createRedisStore, startTokenRefresher } from '../services/cache/dist/index.js';
import { bulkLoadSessions } from '../services/cache/dist/bulk-load.js';
import { redisCli, startRedis } from '../packages/testing/dist/index.js';

const arg = (name, fallback) => Number(process.argv[process.argv.indexOf(name) + 1]) || fallback;
const SESSIONS = arg('--sessions', 200_000);
const DUE_EVERY = 10;
const SECRET = 's'.repeat(32);
const MiB = 1024 * 1024;

const usedMemory = async (port) => Number(/used_memory:(\d+)/.exec(await redisCli(port, 'info', 'memory'))?.[1]);

const redis = await startRedis();
const store = createRedisStore(redis.url, { tokenSecret: SECRET });
try {
  // Bytes per session, with tokens the size an IdP issues.
  const n = 10_000;
  const empty = await usedMemory(redis.port);
  await bulkLoadSessions(redis.port, { count: n, dueEvery: DUE_EVERY, users: n, tokenSecret: SECRET, tokenBytes: 900 });
  const full = await usedMemory(redis.port);
  const scheduleBytes = Number(await redisCli(redis.port, 'memory', 'usage', 'vallum:refresh-due', 'samples', '0'));
  console.log(
    `Redis bytes per session: ${Math.round((full - empty) / n)} (used_memory over ${n} sessions with ~900-byte ID and access tokens and a 64-byte refresh token, ` +
      `each with its own user index and its refresh schedule entry); the schedule entry alone: ${Math.round(scheduleBytes / n)}`,
  );
  await redisCli(redis.port, 'flushall');

  const loadStart = Date.now();
  const due = await bulkLoadSessions(redis.port, { count: SESSIONS, dueEvery: DUE_EVERY, users: SESSIONS / 100, tokenSecret: SECRET });
  console.log(`loaded ${SESSIONS} sessions (${due.size} due) in ${((Date.now() - loadStart) / 1000).toFixed(1)} s`);

  global.gc?.();
  let rss = process.memoryUsage().rss;
  let start = performance.now();
  const all = await store.listSessions();
  const walkMs = performance.now() - start;
  const walkRss = process.memoryUsage().rss - rss;
  const walked = all.length;
  all.length = 0;

  const checks = {
    refreshTokens: () => Promise.reject(new Error('no token is near its expiry')),
    userinfo: async (s) => ({ sub: s.sub, email: s.email, groups: s.groups, claims: s.claims }),
  };
  const refresher = startTokenRefresher({ idp: {}, tokenRefreshIntervalMs: 60_000 }, store, { checks });
  global.gc?.();
  rss = process.memoryUsage().rss;
  const redisBefore = await usedMemory(redis.port);
  start = performance.now();
  const checked = await refresher.runOnce();
  const passMs = performance.now() - start;
  const passRss = process.memoryUsage().rss - rss;
  const redisDelta = (await usedMemory(redis.port)) - redisBefore;
  await refresher.close();
  if (checked !== due.size) throw new Error(`the pass checked ${checked} sessions, ${due.size} were due`);

  console.log(`refresher pass over ${SESSIONS} sessions, ${checked} due (IdP answering at once):`);
  console.log(
    `  schedule (this refresher): ${(passMs / 1000).toFixed(2)} s, ${((passMs * 10_000) / checked).toFixed(0)} ms per 10,000 due; ` +
      `RSS ${(passRss / MiB).toFixed(1)} MiB, Redis used_memory ${(redisDelta / 1024).toFixed(0)} KiB (deltas)`,
  );
  console.log(
    `  baseline, a walk over every session (the refresher before the schedule, before any IdP call): ${(walkMs / 1000).toFixed(2)} s for ${walked}; ` +
      `RSS ${(walkRss / MiB).toFixed(1)} MiB`,
  );
  console.log(`  ratio: the pass takes ${(passMs / walkMs).toFixed(2)}x the walk's time`);
} finally {
  await store.close();
  await redis.stop();
}
