// `vallum --workers 2`, all-in-one, as real processes: a session made by whichever worker handled the sign-in is
// valid on every worker, a sign-out reaches them all within a second, and a worker killed with SIGKILL is replaced
// while requests keep being served. Once with the in-memory store (kept by the primary), once with Redis.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoConfigYaml } from '@vallum/cmd';
import { Agent, request as httpRequest } from 'node:http';
import type { Browser } from 'playwright-core';
import { getFreePort, launchBrowser, parseExposition, sampleValue, type Exposition } from '@vallum/testing';
import { VALLUM_BIN, spawnService, startStack, stopChild, type Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser, waitUntil } from './identity-helpers.js';

/** Where to send requests: the listener's port, the route host, the session cookie. */
interface Target {
  port: number;
  host: string;
  cookie?: string;
}

/**
 * GETs a route host (the app's by default) on `count` new TCP connections (the primary hands each to the next worker) and, while they are still
 * open, asks the kernel (`ss -p`) which process holds the server end of each: the statuses (0 for a failed
 * connection) and the pids that answered.
 */
async function servedBy(to: Target, count: number): Promise<{ statuses: number[]; pids: Set<number> }> {
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
            { host: '127.0.0.1', port: to.port, path: '/api/whoami', agent, headers: { host: to.host, ...(to.cookie && { cookie: `_vallum=${to.cookie}` }) } },
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
    for (const line of execFileSync('ss', ['-tnpH', 'state', 'established', `( sport = :${to.port} )`], { encoding: 'utf8' }).split('\n')) {
      const match = /:(\d+)\s+users:\(\("[^"]*",pid=(\d+)/.exec(line);
      if (match && clientPorts.has(Number(match[1]))) pids.add(Number(match[2]));
    }
    return { statuses, pids };
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

/** The primary's children: its workers. */
const workerPids = (primary: ChildProcess): number[] =>
  execFileSync('pgrep', ['-P', String(primary.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);

for (const store of ['in-memory', 'redis'] as const) {
  describe(`vallum --workers 2, all-in-one, ${store} store`, () => {
    let stack: Stack;
    let browser: Browser;
    let cookie: string;
    const app = (): Target => ({ port: stack.port, host: appHost(stack), cookie });

    before(async () => {
      stack = await startStack({ mode: 'all-in-one', redis: store === 'redis', workers: 2, logLevel: 'info', metrics: true });
      browser = await launchBrowser();
      cookie = await (await signInWithBrowser(browser, stack, 'alice@example.com')).cookie();
    });

    after(async () => {
      await browser?.close();
      await stack?.close();
    });

    test('a sign-in on one worker is valid on every worker', async () => {
      const workers = workerPids(stack.primary!);
      assert.equal(workers.length, 2);
      const { statuses, pids } = await servedBy(app(), 8);
      assert.deepEqual(statuses, Array(8).fill(200));
      assert.deepEqual([...pids].sort(), [...workers].sort(), 'both workers answered, the primary none');
    });

    test("/metrics on the primary's metrics_address sums every worker's requests", async () => {
      const scrape = async () => {
        const res = await fetch(`${stack.metricsUrls.all}/metrics`);
        assert.equal(res.status, 200);
        return parseExposition(await res.text());
      };
      const appRequests = (e: Exposition) => sampleValue(e, 'vallum_http_request_duration_seconds_count', { route: 'app' });
      const before = appRequests(await scrape());
      const { statuses, pids } = await servedBy(app(), 10);
      assert.deepEqual(statuses, Array(10).fill(200));
      assert.equal(pids.size, 2, 'both workers served some of them');
      // Each worker counts a request as its response closes: give the last ones a moment.
      await waitUntil('all 10 requests are counted, whichever worker served them', async () => appRequests(await scrape()) - before === 10, 5000, 100);
      const exposition = await scrape();
      assert.ok(sampleValue(exposition, 'process_cpu_seconds_total') > 0, 'process metrics, summed over the processes');
      assert.equal((await fetch(`${stack.metricsUrls.all}/readyz`)).status, 200, "the primary's readiness: workers run");
    });

    test('a worker killed with SIGKILL is replaced, and requests keep being served with the same session', async () => {
      const [victim, survivor] = workerPids(stack.primary!);
      process.kill(victim!, 'SIGKILL');
      await waitUntil('the primary sees the worker die', async () => stack.logs().includes(`"worker":${victim},"code":null,"signal":"SIGKILL"`), 10_000);
      // The other worker serves meanwhile, and a new one joins (the primary waits a moment before starting it).
      await waitUntil(
        'a new worker serves requests',
        async () => {
          const { statuses, pids } = await servedBy(app(), 4);
          assert.deepEqual(statuses, [200, 200, 200, 200]);
          assert.ok(!pids.has(victim!));
          return pids.size === 2 && pids.has(survivor!);
        },
        30_000,
        200,
      );
      assert.equal(workerPids(stack.primary!).length, 2);
    });

    test('a change to the config file is applied by every worker', async () => {
      const publicHost = `public.localhost:${stack.port}`;
      assert.deepEqual((await servedBy({ port: stack.port, host: publicHost }, 4)).statuses, [200, 200, 200, 200]);
      const text = stack.configText.replace('allow_public_unauthenticated_access: true', 'allow_any_authenticated_user: true');
      assert.notEqual(text, stack.configText);
      writeFileSync(stack.configFile, text);
      await waitUntil(
        'both workers send the anonymous user to sign in',
        async () => {
          const { statuses, pids } = await servedBy({ port: stack.port, host: publicHost }, 4);
          return pids.size === 2 && statuses.every((s) => s === 302);
        },
        15_000,
        100,
      );
      writeFileSync(stack.configFile, stack.configText);
      await waitUntil(
        'both workers serve the public route again',
        async () => (await servedBy({ port: stack.port, host: publicHost }, 4)).statuses.every((s) => s === 200),
        15_000,
        100,
      );
    });

    test('a sign-out on one worker reaches every worker within 1 s', async () => {
      // Every worker holds the session in its in-process copy now.
      assert.deepEqual((await servedBy(app(), 6)).statuses, Array(6).fill(200));
      const signOut = await hostGet(stack, appHost(stack), '/.vallum/sign_out', { cookie: `_vallum=${cookie}` });
      assert.equal(signOut.status, 302);
      const next = new URL(String(signOut.headers.location));
      const ended = await hostGet(stack, next.host, `${next.pathname}${next.search}`);
      assert.equal(ended.status, 302);
      let answered = new Set<number>();
      const took = await waitUntil(
        'every worker refuses the session',
        async () => {
          const { statuses, pids } = await servedBy(app(), 6);
          answered = pids;
          return statuses.every((s) => s === 302);
        },
        1000,
        20,
      );
      assert.ok(took < 1000);
      assert.equal(answered.size, 2, 'the refusals came from both workers');
    });

    test('SIGTERM to the primary stops every worker, then the primary, with exit code 0', async () => {
      const workers = workerPids(stack.primary!);
      const primary = stack.primary!;
      const exited = new Promise<number | null>((resolve) => primary.once('exit', (code) => resolve(code)));
      primary.kill('SIGTERM');
      assert.equal(await exited, 0);
      for (const pid of workers) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} is gone`);
    });
  });
}

describe('vallum --service proxy --workers 2, beside split-mode services', () => {
  let stack: Stack;
  let browser: Browser;
  let proxy: ChildProcess;
  let port: number;

  before(async () => {
    stack = await startStack({ mode: 'split' });
    port = await getFreePort();
    proxy = await spawnService(
      stack.configFile,
      'proxy',
      {
        VALLUM_ADDRESS: `127.0.0.1:${port}`,
        VALLUM_WORKERS: '2',
        VALLUM_AUTHORIZE_SERVICE_URL: stack.authorizeUrl!,
        VALLUM_CACHE_SERVICE_URL: stack.cacheUrl!,
        VALLUM_LOG_LEVEL: 'warn',
      },
      port,
    );
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    if (proxy) await stopChild(proxy);
    await stack?.close();
  });

  test('a session is valid on both proxy workers, and a sign-out elsewhere reaches both within 1 s', async () => {
    const cookie = await (await signInWithBrowser(browser, stack, 'alice@example.com')).cookie();
    const target = { port, host: appHost(stack), cookie };
    const workers = workerPids(proxy);
    assert.equal(workers.length, 2);
    const { statuses, pids } = await servedBy(target, 8);
    assert.deepEqual(statuses, Array(8).fill(200));
    assert.deepEqual([...pids].sort(), [...workers].sort());

    const signOut = await hostGet(stack, appHost(stack), '/.vallum/sign_out', { cookie: `_vallum=${cookie}` });
    const next = new URL(String(signOut.headers.location));
    assert.equal((await hostGet(stack, next.host, `${next.pathname}${next.search}`)).status, 302);
    const took = await waitUntil('both proxy workers refuse the session', async () => (await servedBy(target, 6)).statuses.every((s) => s === 302), 1000, 20);
    assert.ok(took < 1000);
  });
});

test('--workers usage errors exit 2 with one line', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'vallum-workers-')), 'vallum.yaml');
  writeFileSync(file, demoConfigYaml({ port: 8000, issuer: 'http://127.0.0.1:8010', appUrl: 'http://127.0.0.1:8020', clientSecret: 'demo-client-secret' }));
  const run = (...args: string[]) => spawnSync(process.execPath, [VALLUM_BIN, '--config', file, ...args], { encoding: 'utf8', timeout: 20_000 });
  for (const [args, message] of [
    [['--workers', 'lots'], /^vallum: --workers must be a number of processes \(1 or more\) or auto; got 'lots'/],
    [['--workers', '0'], /^vallum: --workers must be a number/],
    [['--service', 'cache', '--workers', '2'], /^vallum: --workers applies to the all-in-one and proxy services; the cache service runs as one process/],
  ] as const) {
    const res = run(...args);
    assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message);
    assert.equal(res.stderr.trim().split('\n').length, 1);
  }
});
