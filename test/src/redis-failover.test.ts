// Failover against real servers (issue 13, point 2): a Redis Cluster (3 masters, 3 replicas) and a Sentinel setup
// (1 master, 2 replicas, 3 sentinels) behind a real Vallum. The master holding a session is killed with SIGKILL while
// requests flow through the proxy (each with a session the proxy has not cached, so each reads Redis) and sign-ins
// write to the store. Requests see 503 (never another error) until a replica takes over; the session survives,
// the proxy reconnects by itself and revocation reaches it again. The figures are printed (docs/operations.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRedisStore, type SessionStore } from '@vallum/cache';
import { loadVallumConfigText } from '@vallum/cmd';
import { createSessionCookieCodec, type Session } from '@vallum/session';
import { startRedisCluster, startRedisSentinel, type RedisTopology } from '@vallum/testing';
import { startStack } from './harness.js';
import { appHost, hostGet, waitUntil } from './identity-helpers.js';

/** Upper bound of the request loop after the kill; it ends sooner once requests have succeeded for a while. */
const LOOP_LIMIT_MS = 25_000;
const SETTLED_MS = 2000;
const COLD_SESSIONS = 1500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

function newSession(prefix: string): Session {
  const now = Date.now();
  const id = `${prefix}-${randomBytes(9).toString('base64url')}`;
  return { id, sub: `user-${id}`, email: `${id}@example.com`, groups: ['engineering'], claims: {}, createdAt: now, expiresAt: now + 3_600_000 };
}

/** Median milliseconds of `updateSession` on a store, over `runs` calls. */
async function updateCost(store: SessionStore, session: Session, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await store.updateSession(session);
    times.push(performance.now() - start);
  }
  return median(times);
}

const topologies: Array<[string, () => Promise<RedisTopology>]> = [
  ['Redis Cluster (3 masters, 3 replicas)', startRedisCluster],
  ['Redis Sentinel (1 master, 2 replicas, 3 sentinels)', startRedisSentinel],
];

for (const [name, start] of topologies) {
  test(`${name}: the master holding a session is killed under load; requests see 503 only until a replica takes over, the session survives, the proxy reconnects and revocation still reaches it`, async (t) => {
    const closers: Array<() => Promise<unknown>> = [];
    let phase = 'start';
    try {
      const topology = await start();
      closers.push(() => topology.stop());
      const stack = await startStack({ mode: 'all-in-one', redisUrl: topology.url });
      closers.push(() => stack.close());
      const cookies = createSessionCookieCodec(loadVallumConfigText(stack.configText, stack.configFile).cookieSecret);
      const store = createRedisStore(topology.url, { tokenSecret: stack.tokenSecret });
      const noWait = createRedisStore(topology.url, { tokenSecret: stack.tokenSecret, waitForReplicas: 0 });
      closers.push(
        () => store.close(),
        () => noWait.close(),
      );
      const cookieOf = (s: Session) => cookies.seal({ sid: s.id, expiresAt: s.expiresAt });
      const get = async (cookie: string) => (await hostGet(stack, appHost(stack), '/', { cookie: `_vallum=${cookie}` })).status;

      phase = 'before the kill';
      const victim = newSession('victim');
      await store.putSession(victim);
      const victimCookie = await cookieOf(victim);
      assert.equal(await get(victimCookie), 200);

      // What waiting for a replica costs a write, on this topology, in this run.
      const withWait = await updateCost(store, victim, 200);
      const withoutWait = await updateCost(noWait, victim, 200);
      t.diagnostic(
        `${name}: updateSession median ${withWait.toFixed(2)} ms with WAIT 1, ${withoutWait.toFixed(2)} ms without (${(withWait / withoutWait).toFixed(2)}x)`,
      );

      const cold: Array<{ session: Session; cookie: string }> = [];
      for (let i = 0; i < COLD_SESSIONS; i += 100) {
        const batch = Array.from({ length: 100 }, () => newSession('cold'));
        await Promise.all(batch.map((s) => store.putSession(s)));
        for (const s of batch) cold.push({ session: s, cookie: await cookieOf(s) });
      }

      phase = 'the kill';
      const key = `vallum:{${victim.id}}:session`;
      const master = await topology.masterOf(key);
      const killedAt = Date.now();
      await master.kill();
      let failedOverAt: number | undefined;
      const failover = topology.waitForFailover(key, master).then((m) => {
        failedOverAt = Date.now();
        return m;
      });

      const reads: Array<{ at: number; ms: number; status: number }> = [];
      const writes: Array<{ at: number; ms: number; code: string }> = [];
      const settled = (log: Array<{ at: number; ok: boolean }>) => {
        const lastFailure = log.findLast((e) => !e.ok)?.at ?? killedAt;
        return failedOverAt !== undefined && Date.now() - Math.max(lastFailure, failedOverAt) > SETTLED_MS;
      };
      const readLoop = async () => {
        for (let i = 0; Date.now() - killedAt < LOOP_LIMIT_MS && i < cold.length; i++) {
          const at = Date.now();
          const status = await get(cold[i]!.cookie);
          reads.push({ at, ms: Date.now() - at, status });
          if (settled(reads.map((r) => ({ at: r.at, ok: r.status === 200 })))) break;
          await sleep(10);
        }
      };
      const writeLoop = async () => {
        while (Date.now() - killedAt < LOOP_LIMIT_MS) {
          const at = Date.now();
          const code = await store.putSession(newSession('signin')).then(
            () => 'ok',
            (err: { code?: string }) => String(err.code),
          );
          writes.push({ at, ms: Date.now() - at, code });
          if (settled(writes.map((w) => ({ at: w.at, ok: w.code === 'ok' })))) break;
          await sleep(20);
        }
      };
      await Promise.all([readLoop(), writeLoop(), failover]);

      const report = (what: string, log: Array<{ at: number; ms: number; ok: boolean }>) => {
        const failures = log.filter((e) => !e.ok);
        const first = failures[0]?.at;
        const last = failures.at(-1)?.at;
        const lastOk = log.find((e) => e.ok && e.at > (last ?? killedAt));
        const recovered = lastOk && lastOk.at + lastOk.ms;
        const slowest = Math.max(...log.map((e) => e.ms));
        t.diagnostic(
          `${name}: ${what}: ${log.length} in all, ${failures.length} failed (started from +${first === undefined ? '-' : first - killedAt} to +${
            last === undefined ? '-' : last - killedAt
          } ms after the kill); answered again from +${recovered === undefined ? '-' : recovered - killedAt} ms; slowest answer ${slowest} ms; replica seen promoted at +${(failedOverAt ?? Number.NaN) - killedAt} ms`,
        );
        return { recovered };
      };
      const readFigures = report(
        'proxied requests with uncached sessions (503 while failing)',
        reads.map((r) => ({ at: r.at, ms: r.ms, ok: r.status === 200 })),
      );
      const writeFigures = report(
        'session writes (VALLUM_CACHE_UNAVAILABLE while failing)',
        writes.map((w) => ({ at: w.at, ms: w.ms, ok: w.code === 'ok' })),
      );

      assert.deepEqual(
        [...new Set(reads.map((r) => r.status))].filter((s) => s !== 200 && s !== 503),
        [],
        'no answer but 200 and 503',
      );
      assert.deepEqual(
        [...new Set(writes.map((w) => w.code))].filter((c) => c !== 'ok' && c !== 'VALLUM_CACHE_UNAVAILABLE'),
        [],
        'no error but 503',
      );
      // A request in the window waits (for a connection, or through CLUSTERDOWN retries) and then gets 503 or, once
      // the replica has taken over, 200: either is right, as long as requests were sent while the master was down.
      assert.ok(reads.filter((r) => r.at < (failedOverAt ?? 0)).length > 1, 'requests were sent while the master was down');
      assert.ok(readFigures.recovered !== undefined && writeFigures.recovered !== undefined, 'reads and writes recovered by themselves');

      phase = 'after the failover';
      // Every session written before the kill is still there: each write waited for a replica.
      assert.ok(await store.getSession(victim.id), 'the session on the killed master survived');
      const read = await Promise.all(cold.map(({ session }) => store.getSession(session.id)));
      assert.equal(read.filter((s) => s === null).length, 0, 'no session written before the kill was lost');

      // The proxy holds the victim's session again; revoking it reaches the proxy through pub/sub, well within the
      // 10 s its copy would otherwise live.
      phase = 'revocation after the failover';
      assert.equal(await get(victimCookie), 200);
      await store.deleteSession(victim.id);
      // A request in flight when the revocation lands is cut by the proxy (it ends a revoked session's open
      // requests): that is a refusal too.
      const refused = async () => (await get(victimCookie).catch(() => 0)) !== 200;
      const propagated = await waitUntil('the revocation reaches the proxy after the failover', refused, 3000);
      t.diagnostic(`${name}: revocation after the failover reached the proxy in ${propagated} ms`);
    } catch (err) {
      t.diagnostic(`${name}: failed in phase '${phase}'`);
      throw err;
    } finally {
      for (const close of closers.reverse()) await close().catch(() => {});
    }
  });
}
