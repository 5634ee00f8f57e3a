// `vallum --workers 2`, all-in-one, as real processes: a session made by whichever worker handled the sign-in is
// valid on every worker, a sign-out reaches them all within a second, and a worker killed with SIGKILL is replaced
// while requests keep being served. Once with the in-memory store (kept by the primary), once with Redis.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser, waitUntil } from './identity-helpers.js';

/**
 * GETs the app on `count` new TCP connections (the primary hands each to the next worker) and, while they are still
 * open, asks the kernel (`ss -p`) which process holds the server end of each: the statuses (0 for a failed
 * connection) and the pids that answered.
 */
async function servedBy(stack: Stack, cookie: string, count: number): Promise<{ statuses: number[]; pids: Set<number> }> {
  const agents: Agent[] = [];
  const clientPorts = new Set<number>();
  const statuses: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      statuses.push(
        await new Promise<number>((resolve) => {
          const req = httpRequest(
            { host: '127.0.0.1', port: stack.port, path: '/api/whoami', agent, headers: { host: appHost(stack), cookie: `_vallum=${cookie}` } },
            (res) => {
              clientPorts.add(res.socket.localPort!);
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', () => resolve(0));
          req.setTimeout(10_000, () => req.destroy());
          req.end();
        }),
      );
    }
    const pids = new Set<number>();
    for (const line of execFileSync('ss', ['-tnpH', 'state', 'established', `( sport = :${stack.port} )`], { encoding: 'utf8' }).split('\n')) {
      const match = /:(\d+)\s+users:\(\("[^"]*",pid=(\d+)/.exec(line);
      if (match && clientPorts.has(Number(match[1]))) pids.add(Number(match[2]));
    }
    return { statuses, pids };
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

/** The primary's children: its workers. */
const workerPids = (stack: Stack): number[] =>
  execFileSync('pgrep', ['-P', String(stack.primary!.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);

for (const store of ['in-memory', 'redis'] as const) {
  describe(`vallum --workers 2, all-in-one, ${store} store`, () => {
    let stack: Stack;
    let browser: Browser;
    let cookie: string;

    before(async () => {
      stack = await startStack({ mode: 'all-in-one', redis: store === 'redis', workers: 2, logLevel: 'info' });
      browser = await launchBrowser();
      cookie = await (await signInWithBrowser(browser, stack, 'alice@example.com')).cookie();
    });

    after(async () => {
      await browser?.close();
      await stack?.close();
    });

    test('a sign-in on one worker is valid on every worker', async () => {
      const workers = workerPids(stack);
      assert.equal(workers.length, 2);
      const { statuses, pids } = await servedBy(stack, cookie, 8);
      assert.deepEqual(statuses, Array(8).fill(200));
      assert.deepEqual([...pids].sort(), [...workers].sort(), 'both workers answered, the primary none');
    });

    test('a worker killed with SIGKILL is replaced, and requests keep being served with the same session', async () => {
      const [victim, survivor] = workerPids(stack);
      process.kill(victim!, 'SIGKILL');
      await waitUntil('the primary sees the worker die', async () => stack.logs().includes(`"worker":${victim},"code":null,"signal":"SIGKILL"`), 10_000);
      // The other worker serves meanwhile, and a new one joins (the primary waits a moment before starting it).
      await waitUntil(
        'a new worker serves requests',
        async () => {
          const { statuses, pids } = await servedBy(stack, cookie, 4);
          assert.deepEqual(statuses, [200, 200, 200, 200]);
          assert.ok(!pids.has(victim!));
          return pids.size === 2 && pids.has(survivor!);
        },
        30_000,
        200,
      );
      assert.equal(workerPids(stack).length, 2);
    });

    test('a sign-out on one worker reaches every worker within 1 s', async () => {
      // Every worker holds the session in its in-process copy now.
      assert.deepEqual((await servedBy(stack, cookie, 6)).statuses, Array(6).fill(200));
      const signOut = await hostGet(stack, appHost(stack), '/.vallum/sign_out', { cookie: `_vallum=${cookie}` });
      assert.equal(signOut.status, 302);
      const next = new URL(String(signOut.headers.location));
      const ended = await hostGet(stack, next.host, `${next.pathname}${next.search}`);
      assert.equal(ended.status, 302);
      let answered = new Set<number>();
      const took = await waitUntil(
        'every worker refuses the session',
        async () => {
          const { statuses, pids } = await servedBy(stack, cookie, 6);
          answered = pids;
          return statuses.every((s) => s === 302);
        },
        1000,
        20,
      );
      assert.ok(took < 1000);
      assert.equal(answered.size, 2, 'the refusals came from both workers');
    });
  });
}
