// tcp routes end to end: a real redis-server behind `from: tcp+http://redis.localhost:6379`, reached with redis-cli
// through the real `vallum tcp` client and a real Vallum process; service-account tokens obtained by
// `vallum service-account create`. A denied account gets 403, no credential 407, and revoking the token closes its
// open tunnel within seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { launchBrowser, redisCli, startRedis, type RedisServer } from '@vallum/testing';
import { VALLUM_BIN, startStack, type Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser } from './identity-helpers.js';
import { issueTestCertificates } from './test-certificates.js';

const AUTHORITY = 'redis.localhost:6379';
let db: RedisServer;
let stack: Stack;
let browser: Browser;
const clients: ChildProcess[] = [];

before(async () => {
  db = await startRedis();
  stack = await startStack({
    mode: 'all-in-one',
    redis: true,
    workers: 1,
    logLevel: 'info',
    extraRoutes: () => `  - name: redis-tcp
    from: tcp+http://${AUTHORITY}
    to: tcp://127.0.0.1:${db.port}
    policy:
      allow:
        or:
          - groups: { has: engineering }
`,
  });
  browser = await launchBrowser();
});

after(async () => {
  for (const child of clients) child.kill('SIGTERM');
  await browser?.close();
  await stack?.close();
  await db?.stop();
});

const run = (...args: string[]) => promisify(execFile)(process.execPath, [VALLUM_BIN, ...args], { timeout: 20_000 });

async function serviceAccount(name: string, groups: string): Promise<string> {
  const { stdout } = await run('service-account', 'create', '--name', name, '--expires', '1d', '--groups', groups, '--config', stack.configFile);
  return stdout.trim();
}

interface Client {
  port: number;
  stderr(): string;
}

interface ClientOptions {
  /** VALLUM_TOKEN; absent: the cached token, else a command-line login. */
  token?: string | undefined;
  proxyUrl?: string;
  loginUrl?: string;
  /** XDG_CACHE_HOME, so two runs can share the token cache (default: a fresh one). */
  cacheHome?: string;
  /** More environment, e.g. NODE_EXTRA_CA_CERTS. */
  env?: Record<string, string>;
  /** Called with the sign-in URL the client prints when it has no token. */
  signIn?: (url: string) => Promise<void>;
}

/** `vallum tcp` as a user runs it, with its own token cache directory. */
async function startClient(options: ClientOptions): Promise<Client> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', XDG_CACHE_HOME: options.cacheHome ?? mkdtempSync(join(tmpdir(), 'vallum-tcp-cache-')) };
  if (options.token) env.VALLUM_TOKEN = options.token;
  Object.assign(env, options.env);
  const args = [VALLUM_BIN, 'tcp', AUTHORITY, '--listen', '127.0.0.1:0', '--proxy-url', options.proxyUrl ?? stack.proxyUrl];
  if (options.loginUrl) args.push('--login-url', options.loginUrl);
  const child = spawn(process.execPath, args, { env });
  clients.push(child);
  let stdout = '';
  let stderr = '';
  let signingIn: Promise<void> | undefined;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    const url = /^ {2}(http\S+)$/m.exec(stderr)?.[1];
    if (url && !signingIn) signingIn = options.signIn?.(url);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vallum tcp did not start: ${stderr}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`vallum tcp exited ${code}: ${stderr}`)));
  });
  await signingIn;
  return { port, stderr: () => stderr };
}

/** The status Vallum answers a bare CONNECT (no credential) with. */
function connectStatus(authority: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: stack.port, method: 'CONNECT', path: authority, agent: false });
    req.on('connect', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function eventually(what: string, probe: () => boolean, ms = 8_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function openTunnel(port: number): Promise<{ socket: Socket; reply(command: string): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      resolve({
        socket,
        reply: (command) =>
          new Promise((done) => {
            socket.once('data', (d: Buffer) => done(d.toString()));
            socket.write(command);
          }),
      }),
    );
    socket.on('error', reject);
  });
}

test('vallum tcp: redis-cli reaches redis-server through Vallum with a service-account token; one access line per tunnel, no token in it', async () => {
  const token = await serviceAccount('tcp-ci', 'engineering');
  const client = await startClient({ token });
  assert.equal((await redisCli(client.port, 'PING')).trim(), 'PONG');
  assert.equal((await redisCli(client.port, 'SET', 'tunnelled', 'yes')).trim(), 'OK');
  assert.equal((await redisCli(client.port, 'GET', 'tunnelled')).trim(), 'yes');
  assert.equal((await redisCli(db.port, 'GET', 'tunnelled')).trim(), 'yes', 'the value is in the real redis-server');
  await eventually('three tunnel lines in the access log', () => (stack.logs().match(/"msg":"tunnel closed"/g) ?? []).length >= 3);
  const line = JSON.parse(
    stack
      .logs()
      .split('\n')
      .find((l) => l.includes('"msg":"tunnel closed"'))!,
  ) as Record<string, unknown>;
  assert.equal(line.route, 'redis-tcp');
  assert.equal(line.user, 'service-account:tcp-ci');
  assert.equal(line.status, 200);
  assert.ok((line.bytes_up as number) > 0 && (line.bytes_down as number) > 0);
  assert.equal(typeof line.duration_ms, 'number');
  assert.ok(!stack.logs().includes(token), 'the token is never logged');
});

test('a denied account gets 403 and no credential 407: the client says why, and nothing reaches redis', async () => {
  const client = await startClient({ token: await serviceAccount('tcp-sales', 'sales') });
  const connections = async () => Number(/total_connections_received:(\d+)/.exec(await redisCli(db.port, 'INFO', 'stats'))?.[1]);
  const before = await connections();
  await assert.rejects(redisCli(client.port, 'PING'));
  await eventually('the client reports the refusal', () => /refused \(403, access denied\)/.test(client.stderr()));
  assert.equal(await connectStatus(AUTHORITY), 407);
  const other = await connectStatus(`127.0.0.1:${db.port}`);
  assert.equal(other, 404, 'an authority that is not a tcp route is never dialled: Vallum is no open proxy');
  assert.equal(await connections(), before + 1, 'redis saw only our own INFO connection');
});

test('revoking the service account closes its open tunnel within seconds', async (t) => {
  const token = await serviceAccount('tcp-revoked', 'engineering');
  const client = await startClient({ token });
  const tunnel = await openTunnel(client.port);
  tunnel.socket.on('error', () => {});
  assert.equal(await tunnel.reply('PING\r\n'), '+PONG\r\n');
  const closedAt = new Promise<number>((resolve) => tunnel.socket.once('close', () => resolve(Date.now())));
  const listed = JSON.parse((await run('service-account', 'list', '--json', '--config', stack.configFile)).stdout) as Array<{ jti: string; subject: string }>;
  const jti = listed.find((a) => a.subject === 'tcp-revoked')?.jti;
  assert.ok(jti);
  await run('service-account', 'revoke', jti, '--config', stack.configFile);
  const revokedAt = Date.now();
  const at = await Promise.race([closedAt, new Promise<number>((r) => setTimeout(() => r(-1), 8_000))]);
  assert.ok(at >= 0, 'the tunnel of a revoked token was still open 8 s after the revoke');
  t.diagnostic(`tunnel closed ${Math.max(0, at - revokedAt)} ms after the revoke command returned`);
  await assert.rejects(redisCli(client.port, 'PING'), 'a new tunnel with the revoked token is refused');
});

test('vallum tcp with Vallum down: the local connection is closed and the client says Vallum cannot be reached', async () => {
  const client = await startClient({ token: 'any-token', proxyUrl: 'http://127.0.0.1:1' });
  await assert.rejects(redisCli(client.port, 'PING'));
  await eventually('the client reports Vallum unreachable', () => /cannot reach Vallum at http:\/\/127\.0\.0\.1:1: ECONNREFUSED/.test(client.stderr()));
});

test('without a token, vallum tcp runs the command-line login once: the browser hands it a token, which the next run reuses from the cache; signing out closes its tunnel', async (t) => {
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  try {
    // The user page lists the apps bob may open in a browser: a tcp route is not one of them.
    const userPage = await hostGet(stack, appHost(stack), '/.vallum/', { cookie: `_vallum=${await bob.cookie()}` });
    assert.equal(userPage.status, 200);
    assert.match(userPage.text, new RegExp(appHost(stack).replace(/[.]/g, '\\.')));
    assert.doesNotMatch(userPage.text, /redis\.localhost|tcp\+http/);
    const cacheHome = mkdtempSync(join(tmpdir(), 'vallum-tcp-login-'));
    const signIn = async (url: string) => {
      await bob.page.goto(url);
      await bob.page.click('#allow');
      await bob.page.waitForURL((u) => u.hostname === '127.0.0.1', { timeout: 10_000 });
    };
    const first = await startClient({ cacheHome, loginUrl: stack.appUrl, signIn });
    assert.match(first.stderr(), /sign in by opening this URL/);
    assert.equal((await redisCli(first.port, 'PING')).trim(), 'PONG');
    const again = await startClient({ cacheHome, loginUrl: stack.appUrl, signIn: () => assert.fail('the cached token is used, no second sign-in') });
    assert.doesNotMatch(again.stderr(), /sign in/);
    assert.equal((await redisCli(again.port, 'PING')).trim(), 'PONG');

    // The command-line token names bob's session: signing out closes the tunnel it opened.
    const tunnel = await openTunnel(again.port);
    tunnel.socket.on('error', () => {});
    assert.equal(await tunnel.reply('PING\r\n'), '+PONG\r\n');
    const closedAt = new Promise<number>((resolve) => tunnel.socket.once('close', () => resolve(Date.now())));
    const signOut = await hostGet(stack, appHost(stack), '/.vallum/sign_out', { cookie: `_vallum=${await bob.cookie()}` });
    assert.equal(signOut.status, 302);
    const next = new URL(String(signOut.headers.location));
    assert.equal((await hostGet(stack, next.host, `${next.pathname}${next.search}`)).status, 302);
    const signedOutAt = Date.now();
    const at = await Promise.race([closedAt, new Promise<number>((r) => setTimeout(() => r(-1), 8_000))]);
    assert.ok(at >= 0, 'the tunnel of a signed-out session was still open 8 s later');
    t.diagnostic(`tunnel closed ${Math.max(0, at - signedOutAt)} ms after sign-out`);

    const cacheFile = join(cacheHome, 'vallum', 'tokens.json');
    assert.equal(statSync(cacheFile).mode & 0o777, 0o600, 'the token cache is readable by its owner only');

    // The cached token named the session that just ended: 407, and the client drops it so the next run signs in again.
    assert.ok(JSON.parse(readFileSync(cacheFile, 'utf8'))[new URL(stack.proxyUrl).origin]);
    const stale = await startClient({ cacheHome, loginUrl: stack.appUrl });
    await assert.rejects(redisCli(stale.port, 'PING'));
    await eventually('the client drops the stale token', () => /refused \(407, not signed in\)[\s\S]*cached token was dropped/.test(stale.stderr()));
    assert.deepEqual(JSON.parse(readFileSync(cacheFile, 'utf8')), {});
  } finally {
    await bob.context.close();
  }
});

test("over an https listener, vallum tcp verifies Vallum's certificate before sending its token: a certificate it cannot verify gets no token", async () => {
  const certs = issueTestCertificates();
  // Vallum's https listener in front of the same tcp route, as far as the client can tell: it checks the token and tunnels.
  const seen: Array<{ authority: string | undefined; credential: string | undefined }> = [];
  const vallum = createHttpsServer({ key: readFileSync(certs.keyFile), cert: readFileSync(certs.certFile) });
  vallum.on('connect', (req, socket: Socket, head: Buffer) => {
    seen.push({ authority: req.url, credential: req.headers['proxy-authorization'] });
    const upstream = connect(db.port, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => vallum.listen(0, '127.0.0.1', resolve));
  const proxyUrl = `https://localhost:${(vallum.address() as AddressInfo).port}`;
  try {
    const trusting = await startClient({ token: 'tls-token', proxyUrl, env: { NODE_EXTRA_CA_CERTS: certs.caFile } });
    assert.equal((await redisCli(trusting.port, 'PING')).trim(), 'PONG');
    assert.deepEqual(seen, [{ authority: AUTHORITY, credential: 'Bearer tls-token' }]);

    const untrusting = await startClient({ token: 'tls-token', proxyUrl });
    await assert.rejects(redisCli(untrusting.port, 'PING'));
    await eventually('the client reports the certificate', () =>
      /cannot reach Vallum at https:\/\/localhost:\d+: [A-Z_]*(CERT|SIGNATURE|ISSUER)/.test(untrusting.stderr()),
    );
    assert.equal(seen.length, 1, 'no token went to a server whose certificate did not verify');
  } finally {
    vallum.closeAllConnections();
    await new Promise((resolve) => vallum.close(resolve));
  }
});
