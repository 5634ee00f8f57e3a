#!/usr/bin/env node
// Session store on the three Redis topologies, measured in one run: median write and read latency on one Redis, a
// Sentinel setup (1 master, 2 replicas) and a Cluster (3 masters, 3 replicas), each write with and without waiting
// for a replica (WAIT 1), as ratios to one Redis; and Redis bytes per session (used_memory over 10,000 sessions with
// IdP tokens the size an IdP issues). Run: npx tsc -b && node bench/redis-topologies.mjs [--runs 2000]
import { randomBytes } from 'node:crypto';
import { createRedisStore } from '../services/cache/dist/index.js';
import { redisCli, startRedis, startRedisCluster, startRedisSentinel } from '../packages/testing/dist/index.js';

const RUNS = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 2000;
const SECRET = 's'.repeat(32);
const jwtLike = (bytes) => randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64url');

function session(id) {
  const now = Date.now();
  return {
    id,
    sub: `user-${id}`,
    email: `${id}@example.com`,
    groups: ['engineering', 'staff'],
    claims: { name: 'A. Person', dept: 'eng' },
    idToken: jwtLike(900),
    accessToken: jwtLike(900),
    refreshToken: jwtLike(64),
    tokenExpiresAt: now + 3_600_000,
    createdAt: now,
    expiresAt: now + 14 * 3_600_000,
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Median ms of each operation; the operations alternate, so load on the machine falls on all of them alike. */
async function timeInterleaved(ops) {
  const times = ops.map(() => []);
  for (let i = 0; i < RUNS + 100; i++) {
    for (const [k, op] of ops.entries()) {
      const start = process.hrtime.bigint();
      await op();
      if (i >= 100) times[k].push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return times.map(median);
}

async function measure(name, url) {
  const waiting = createRedisStore(url, { tokenSecret: SECRET });
  const plain = createRedisStore(url, { tokenSecret: SECRET, waitForReplicas: 0 });
  try {
    const s = session(`bench-${name}`);
    await waiting.putSession(s);
    const [write, writeWait, read] = await timeInterleaved([() => plain.updateSession(s), () => waiting.updateSession(s), () => plain.getSession(s.id)]);
    return { name, write, writeWait, read };
  } finally {
    await waiting.close();
    await plain.close();
  }
}

const usedMemory = async (port) => Number(/used_memory:(\d+)/.exec(await redisCli(port, 'info', 'memory'))?.[1]);

const single = await startRedis();
const sentinel = await startRedisSentinel();
const cluster = await startRedisCluster();
try {
  const results = [];
  results.push(await measure('one Redis', single.url));
  results.push(await measure('Sentinel', sentinel.url));
  results.push(await measure('Cluster', cluster.url));
  const base = results[0];
  console.log(`session store, median of ${RUNS} calls each (ms; ratio to one Redis without WAIT):`);
  for (const r of results) {
    const waitNote =
      r.name === 'one Redis'
        ? '(no replica to wait for)'
        : `${r.writeWait.toFixed(3)} (${(r.writeWait / base.write).toFixed(2)}x; WAIT costs ${(r.writeWait / r.write).toFixed(2)}x)`;
    console.log(
      `  ${r.name.padEnd(9)} read ${r.read.toFixed(3)} (${(r.read / base.read).toFixed(2)}x)  write ${r.write.toFixed(3)} (${(r.write / base.write).toFixed(2)}x)  write+WAIT ${waitNote}`,
    );
  }

  const store = createRedisStore(single.url, { tokenSecret: SECRET });
  try {
    const before = await usedMemory(single.port);
    const n = 10_000;
    for (let i = 0; i < n; i += 500) await Promise.all(Array.from({ length: 500 }, (_, j) => store.putSession(session(`mem-${i + j}`))));
    const after = await usedMemory(single.port);
    const keyBytes = Number(await redisCli(single.port, 'memory', 'usage', 'vallum:{mem-0}:session', 'samples', '0'));
    console.log(
      `Redis bytes per session: ${Math.round((after - before) / n)} (used_memory over ${n} sessions with ~900-byte ID and access tokens, each with its own user index); the session key alone: ${keyBytes}`,
    );
  } finally {
    await store.close();
  }
} finally {
  await Promise.all([single.stop(), sentinel.stop(), cluster.stop()]);
}
