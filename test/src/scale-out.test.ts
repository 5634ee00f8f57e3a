// A cluster on one machine (issue 13, point 5): three `vallum` processes (all-in-one, one config and one set of
// secrets) on a Redis Cluster (3 masters, 3 replicas), behind a real nginx doing round robin, with the real IdP and the
// demo app. A session made through one proxy works on every proxy; a sign-out on one is refused by all three within
// a second; a rolling restart (SIGTERM one at a time, wait for /readyz) under load, GETs and POSTs, fails no request
// (nginx retries on the next proxy only what could not connect, and a POST it has sent never). The figures go
// to docs/operations.md ("Probes and rolling upgrades").
//
// The tests run in order on one signed-in session: the revocation comes last, after the restarts, so it also shows
// that restarted processes receive revocation events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, request } from 'undici';
import type { Browser } from 'playwright-core';
import { demoConfigYaml } from '@vallum/cmd';
import { getFreePort, launchBrowser, startDemoApp, startDemoIdp, startRedisCluster } from '@vallum/testing';
import { demoIdpClient, spawnService, stopChild } from './harness.js';
import { hostGet, signInWithBrowser } from './identity-helpers.js';
import { startNginx } from './nginx.js';

const PROXIES = 3;
/** Half send GET, half POST: nginx retries a GET on the next upstream after a reset, never a POST it has sent. */
const LOAD_CLIENTS = 4;
/** Upper bound of the rolling restart (three stops and starts on a loaded machine). */
const ROLLING_LIMIT_MS = 60_000;

interface Proxy {
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
}

const closers: Array<() => Promise<unknown>> = [];
let configFile: string;
let nginxPort: number;
let proxies: Proxy[];
let browser: Browser;
let cookie: string;
let output = '';
let nginxLog = '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const appHost = () => `app.localhost:${nginxPort}`;

/** `vallum --config FILE` all-in-one on `port`; resolves once its /.vallum/readyz answers 200 (30 s at most). */
async function startProxy(port: number): Promise<Proxy> {
  const child = await spawnService(configFile, 'all', { VALLUM_ADDRESS: `127.0.0.1:${port}`, VALLUM_LOG_LEVEL: 'warn' }, port, (text) => (output += text));
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  const deadline = Date.now() + 30_000;
  while ((await readyz(port)) !== 200) {
    if (Date.now() > deadline) assert.fail(`vallum on ${port} never became ready:\n${output}`);
    await sleep(100);
  }
  return { port, child, exited };
}

const readyz = (port: number) =>
  request(`http://127.0.0.1:${port}/.vallum/readyz`, { reset: true }).then(
    async (r) => (await r.body.text(), r.statusCode),
    () => 0,
  );

/**
 * Round robin over the proxies, Host passed on (route hosts are nginx's), pooled connections to them, and a request
 * that cannot connect retried on the next. An upstream that refused a connection is skipped for fail_timeout: keep it
 * above the 1 s after which a draining Vallum closes the pooled connections nobody reused, or nginx may come back
 * to one at the moment it closes (a reset, which fails a POST).
 */
function nginxHttp(ports: number[]): string {
  return `  upstream vallum {
${ports.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=3s;`).join('\n')}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://vallum;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
      add_header X-Upstream $upstream_addr always;
    }
  }`;
}

/** What nginx logged about its upstreams, counted by kind: `connect() failed (111: Connection refused) ×4, …`. */
function upstreamErrors(log: string): string {
  const kinds = new Map<string, number>();
  for (const [, what] of log.matchAll(/\[(?:error|warn)\] \d+#\d+: \*\d+ (.*?), client:/g)) kinds.set(what!, (kinds.get(what!) ?? 0) + 1);
  return [...kinds].map(([what, n]) => `${what} ×${n}`).join('; ');
}

before(async () => {
  const cluster = await startRedisCluster();
  closers.push(() => cluster.stop());
  nginxPort = await getFreePort();
  const authenticateUrl = `http://authenticate.localhost:${nginxPort}`;
  const clientSecret = randomBytes(16).toString('hex');
  const idp = await startDemoIdp({ clients: [demoIdpClient(authenticateUrl, clientSecret)] });
  closers.push(() => idp.close());
  const app = await startDemoApp({ jwksUrl: `http://127.0.0.1:${nginxPort}/.well-known/vallum/jwks.json` });
  closers.push(() => app.close());
  // One signing key for all, as replicas share their secrets: an assertion from any proxy verifies against the JWKS.
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const text = `${demoConfigYaml({ port: nginxPort, issuer: idp.issuer, appUrl: app.url, clientSecret, authenticateUrl, redisUrl: cluster.url })}signing_key: |
${signingKey
  .trim()
  .split('\n')
  .map((line) => `  ${line}`)
  .join('\n')}
shutdown_grace: 10s
`;
  configFile = join(mkdtempSync(join(tmpdir(), 'vallum-scale-out-')), 'vallum.yaml');
  writeFileSync(configFile, text);

  const ports = await Promise.all(Array.from({ length: PROXIES }, () => getFreePort()));
  proxies = [];
  closers.push(async () => {
    for (const p of proxies) await stopChild(p.child);
  });
  for (const port of ports) proxies.push(await startProxy(port));
  const nginx = await startNginx(nginxPort, nginxHttp(ports), { onOutput: (text) => (nginxLog += text) });
  closers.push(() => stopChild(nginx));
  browser = await launchBrowser();
  closers.push(() => browser.close());
});

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
});

test('a session made through nginx (so through one of the proxies) is good on each of the three, with an assertion that verifies', async () => {
  const alice = await signInWithBrowser(browser, { appUrl: `http://${appHost()}/` }, 'alice@example.com');
  cookie = await alice.cookie();
  await alice.context.close();
  for (const { port } of proxies) {
    const res = await hostGet({ port }, appHost(), '/api/whoami', { cookie: `_vallum=${cookie}` });
    assert.equal(res.status, 200, `proxy on ${port}: ${res.text.slice(0, 200)}`);
    const seen = JSON.parse(res.text) as { email: string; jwt: { status: string } };
    assert.equal(seen.email, 'alice@example.com');
    assert.equal(seen.jwt.status, 'verified', `proxy on ${port}`);
  }
});

test('rolling restart under load through nginx: SIGTERM one proxy at a time, exit 0, start it again, wait for /readyz; no request fails', async (t) => {
  assert.ok(cookie, 'signed in by the previous test');
  let running = true;
  const statuses = new Map<number, number>();
  const failures: string[] = [];
  const byUpstream = new Map<string, number>();
  let retried = 0;
  const client = async (method: 'GET' | 'POST') => {
    const connection = new Client(`http://127.0.0.1:${nginxPort}`, { pipelining: 1 });
    try {
      while (running) {
        try {
          const res = await connection.request({
            method,
            body: method === 'POST' ? 'x=1' : undefined,
            path: '/api/whoami',
            headers: { host: appHost(), cookie: `_vallum=${cookie}` },
          });
          const text = await res.body.text();
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          if (res.statusCode !== 200) failures.push(`${res.statusCode} ${text.slice(0, 120)}`);
          const upstream = String(res.headers['x-upstream'] ?? '');
          // nginx lists every upstream it tried: "127.0.0.1:A, 127.0.0.1:B" when the first one failed to connect.
          if (upstream.includes(',')) retried++;
          const served = upstream.split(', ').at(-1) ?? '';
          byUpstream.set(served, (byUpstream.get(served) ?? 0) + 1);
        } catch (err) {
          failures.push(String(err));
        }
      }
    } finally {
      await connection.close();
    }
  };
  const logFrom = nginxLog.length;
  const load = Promise.all(Array.from({ length: LOAD_CLIENTS }, (_, i) => client(i % 2 ? 'POST' : 'GET')));
  const started = Date.now();
  try {
    await sleep(500);
    for (let i = 0; i < proxies.length; i++) {
      assert.ok(Date.now() - started < ROLLING_LIMIT_MS, 'the rolling restart stays bounded');
      const old = proxies[i]!;
      const stopAt = Date.now();
      process.kill(old.child.pid!, 'SIGTERM');
      assert.equal(await old.exited, 0, `proxy on ${old.port} exits 0 after SIGTERM`);
      const stoppedIn = Date.now() - stopAt;
      proxies[i] = await startProxy(old.port);
      t.diagnostic(`proxy ${i + 1} on ${old.port}: exited 0 ${stoppedIn} ms after SIGTERM, ready again ${Date.now() - stopAt} ms after it`);
      // As an operator does: the next one stops only once nginx takes this one back (its fail_timeout has passed).
      // Stopped sooner, two can be marked failed at once, and a reset on the third leaves nginx no live upstream.
      await sleep(3500);
    }
  } finally {
    running = false;
    await load;
  }
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  t.diagnostic(
    `rolling restart: ${total} requests through nginx in ${Date.now() - started} ms by ${LOAD_CLIENTS} clients, ${failures.length} failed, ${retried} retried by nginx on the next upstream; served by ${[
      ...byUpstream,
    ]
      .map(([upstream, n]) => `${upstream} ${n}`)
      .join(', ')}`,
  );
  t.diagnostic(`nginx's error log during the restart: ${upstreamErrors(nginxLog.slice(logFrom)) || 'nothing'}`);
  assert.deepEqual(failures, [], 'every request answered 200');
  assert.ok(total > 50, `under load throughout (${total} requests)`);
  for (const { port } of proxies) assert.ok((byUpstream.get(`127.0.0.1:${port}`) ?? 0) > 0, `the proxy on ${port} served requests`);
});

test('a sign-out on one proxy is refused by all three within 1 s, restarted ones included', async (t) => {
  assert.ok(cookie, 'signed in by the first test');
  for (const { port } of proxies) assert.equal((await hostGet({ port }, appHost(), '/api/whoami', { cookie: `_vallum=${cookie}` })).status, 200);
  const signedOutAt = Date.now();
  const out = await request(`http://127.0.0.1:${proxies[1]!.port}/.vallum/sign_out`, {
    method: 'POST',
    headers: { host: appHost(), cookie: `_vallum=${cookie}` },
  });
  await out.body.text();
  assert.equal(out.statusCode, 302, 'signed out, on to the IdP');
  const refusedAfter = await Promise.all(
    proxies.map(async ({ port }) => {
      for (;;) {
        const { status, headers } = await hostGet({ port }, appHost(), '/api/whoami', { cookie: `_vallum=${cookie}` });
        if (status !== 200) {
          assert.equal(status, 302, `proxy on ${port} sends to sign-in`);
          assert.match(String(headers.location), /\/\.vallum\/sign_in|authenticate\.localhost/);
          return Date.now() - signedOutAt;
        }
        if (Date.now() - signedOutAt > 5000) assert.fail(`proxy on ${port} still serves the session 5 s after the sign-out`);
        await sleep(10);
      }
    }),
  );
  t.diagnostic(`sign-out on proxy 2: refused by the three after ${refusedAfter.join(', ')} ms (from sending the sign-out)`);
  assert.ok(Math.max(...refusedAfter) < 1000, `all three refuse within 1 s (${refusedAfter.join(', ')} ms)`);
});
