// Programmatic credentials can be taken back, and the admin API answers to global_policy: a split stack on Redis plus
// a second Vallum process on the same Redis (two proxies that memoise bearer tokens), the real `vallum
// service-account` command, the real IdP and Chromium for the command-line login.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { loadVallumConfigText } from '@vallum/cmd';
import { createApiTokenCodec } from '@vallum/session';
import { getFreePort, launchBrowser } from '@vallum/testing';
import { VALLUM_BIN, spawnService, startStack, stopChild, type Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser, waitUntil } from './identity-helpers.js';

const CONFIG_EXTRA = `admin_policy:
  allow:
    or:
      - groups: { has: admins }
global_policy:
  deny:
    or:
      - groups: { has: quarantined }
service_account_max_lifetime: 30d
`;

let stack: Stack;
let browser: Browser;
let second: ChildProcess;
let secondPort: number;
let secondLog = '';
let sharedSecret: string;

before(async () => {
  stack = await startStack({ mode: 'split', redis: true, configExtra: CONFIG_EXTRA });
  sharedSecret = loadVallumConfigText(stack.configText, stack.configFile).sharedSecret;
  secondPort = await getFreePort();
  second = await spawnService(stack.configFile, 'all', { VALLUM_ADDRESS: `127.0.0.1:${secondPort}`, VALLUM_LOG_LEVEL: 'info' }, secondPort);
  second.stdout?.on('data', (d: Buffer) => (secondLog += d.toString()));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (second) await stopChild(second);
  await stack?.close();
});

const vallum = (...args: string[]) =>
  promisify(execFile)(process.execPath, [VALLUM_BIN, 'service-account', ...args, '--config', stack.configFile]).catch(
    (e: { code: number; stdout: string; stderr: string }) => ({ ...e, failed: true as const }),
  );

const createToken = async (name: string, groups: string, description = `${name} token`) => {
  const out = await vallum('create', '--name', name, '--expires', '7d', '--groups', groups, '--description', description);
  assert.ok(!('failed' in out), `create failed: ${out.stderr}`);
  const jti = /jti ([0-9a-f-]{36})/.exec(out.stderr)?.[1];
  assert.ok(jti, `no jti in: ${out.stderr}`);
  return { token: out.stdout.trim(), jti };
};

/** What each proxy (the split proxy, the second process) answers the app with this bearer token. */
const statuses = async (token: string) => {
  const status = (port: number) =>
    hostGet(stack, appHost(stack), '/api/whoami', { authorization: `Bearer ${token}`, accept: 'application/json' }, port).then(
      (r) => r.status,
      () => 0,
    );
  return [await status(stack.port), await status(secondPort)];
};

const adminCall = async (method: 'GET' | 'DELETE', path: string, token: string, port = stack.port) => {
  const res = await request(`http://127.0.0.1:${port}/.vallum/admin/v1${path}`, {
    method,
    headers: { host: appHost(stack), authorization: `Bearer ${token}` },
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
};

test('vallum service-account revoke: the token is refused by every proxy within a second, and list shows it revoked', async () => {
  const { token, jti } = await createToken('deployer', 'engineering', 'deploys from CI');
  const listed = await vallum('list');
  assert.ok(!('failed' in listed), listed.stderr);
  const row = listed.stdout.split('\n').find((l) => l.startsWith(jti));
  assert.match(String(row), /\tdeployer\tengineering\t.*\tactive\tdeploys from CI$/);
  assert.ok(!listed.stdout.includes(token), 'list never prints a token');
  // Twice: from the second call on, both proxies answer from their memo of the verified token.
  assert.deepEqual(await statuses(token), [200, 200]);
  assert.deepEqual(await statuses(token), [200, 200]);

  const revoked = await vallum('revoke', jti);
  assert.ok(!('failed' in revoked), revoked.stderr);
  const took = await waitUntil('every proxy refuses the revoked token', async () => (await statuses(token)).every((s) => s === 401), 1000, 20);
  assert.ok(took < 1000);
  assert.match(String((await vallum('list')).stdout.split('\n').find((l) => l.startsWith(jti))), /\trevoked \d{4}-/);
});

test('the admin API lists and revokes service-account tokens, on every proxy within a second, and logs who did it', async () => {
  const ops = await createToken('ops', 'admins');
  const victim = await createToken('batch', 'engineering');
  assert.deepEqual(await statuses(victim.token), [200, 200]);
  assert.deepEqual(await statuses(victim.token), [200, 200]);
  const list = await adminCall('GET', '/service-accounts/tokens', ops.token, secondPort);
  assert.equal(list.status, 200);
  assert.ok((list.body.tokens as Array<{ jti: string; subject: string }>).some((t) => t.jti === victim.jti && t.subject === 'batch'));

  const revoked = await adminCall('DELETE', `/service-accounts/tokens/${victim.jti}`, ops.token, secondPort);
  assert.equal(revoked.status, 200);
  const took = await waitUntil('every proxy refuses the revoked token', async () => (await statuses(victim.token)).every((s) => s === 401), 1000, 20);
  assert.ok(took < 1000);
  const after = (await adminCall('GET', '/service-accounts/tokens', ops.token)).body.tokens as Array<{ jti: string; revoked_at?: string }>;
  assert.ok(after.find((t) => t.jti === victim.jti)?.revoked_at);

  await waitUntil('the admin action is logged', async () => secondLog.includes(victim.jti), 2000);
  const line = secondLog.split('\n').find((l) => l.includes('revoke-service-account-token'));
  assert.ok(line, 'an admin action log line');
  const entry = JSON.parse(line) as Record<string, unknown>;
  assert.equal(entry.admin, 'service-account:ops');
  assert.equal(entry.target, `api-token:${victim.jti}`);
  assert.equal(entry.level, 30, 'info');
  assert.ok(typeof entry.request_id === 'string' && entry.request_id.length > 0);
  assert.ok(!secondLog.includes(ops.token) && !secondLog.includes(victim.token), 'no token in any log line');
});

test('service_account_max_lifetime: a longer token is refused when issued, and an older one when used', async () => {
  const tooLong = await vallum('create', '--name', 'forever', '--expires', '60d');
  assert.equal('failed' in tooLong && tooLong.code, 2);
  assert.match(tooLong.stderr, /service_account_max_lifetime/);

  const codec = createApiTokenCodec(sharedSecret);
  const day = 86_400_000;
  const old = await codec.sign({ kind: 'service-account', name: 'old', groups: ['engineering'], issuedAt: Date.now() - 31 * day, expiresAt: Date.now() + day });
  assert.deepEqual(await statuses(old), [401, 401]);
  const young = await codec.sign({
    kind: 'service-account',
    name: 'young',
    groups: ['engineering'],
    issuedAt: Date.now() - 29 * day,
    expiresAt: Date.now() + day,
  });
  assert.deepEqual(await statuses(young), [200, 200]);
});

test('the admin API is refused when global_policy denies, even though admin_policy allows', async () => {
  const codec = createApiTokenCodec(sharedSecret);
  const sign = (name: string, groups: string[]) => codec.sign({ kind: 'service-account', name, groups, expiresAt: Date.now() + 3_600_000 });
  const admin = { token: await sign('root', ['admins']), jti: 'some-jti' };
  const quarantined = { token: await sign('root-quarantined', ['admins', 'quarantined']) };
  assert.equal((await adminCall('GET', '/users/alice/sessions', admin.token)).status, 200);
  for (const port of [stack.port, secondPort]) {
    const refused = await adminCall('GET', '/users/alice/sessions', quarantined.token, port);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'VALLUM_ACCESS_DENIED');
    assert.equal((await adminCall('DELETE', `/service-accounts/tokens/${admin.jti}`, quarantined.token, port)).status, 403);
  }
  assert.deepEqual(await statuses(quarantined.token), [403, 403], 'global_policy denies it on routes too: the same rule');
  await waitUntil('the refusal is logged with the actor', async () => /"admin":"service-account:root-quarantined".*"outcome":"denied"/.test(secondLog), 2000);
});

test('the command-line login asks first: no token is handed to the loopback listener before a same-origin POST', async () => {
  const received: string[] = [];
  const listener: Server = createServer((req, res) => {
    // The browser may also ask this origin for /favicon.ico: only requests carrying a token count.
    const token = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('vallum_token');
    if (token !== null) received.push(token);
    res.end('You can close this window.');
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
  try {
    const port = (listener.address() as { port: number }).port;
    const loginPath = `/.vallum/api/v1/login?redirect_uri=${encodeURIComponent(`http://127.0.0.1:${port}/callback`)}`;
    await alice.page.goto(`${stack.appUrl.replace(/\/$/, '')}${loginPath}`);
    await alice.page.waitForSelector('#allow');
    const text = (await alice.page.textContent('body'))?.replace(/\s+/g, ' ');
    assert.match(String(text), /Hand a token for alice@example\.com to the program listening on 127\.0\.0\.1:\d+\?/);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(received, [], 'nothing before the user says yes');

    // A cross-site page cannot say yes for her: the POST must come from the route's own origin.
    const cookie = `_vallum=${await alice.cookie()}`;
    for (const headers of [{ origin: 'http://evil.example' }, { 'sec-fetch-site': 'cross-site' }, {}]) {
      const res = await request(`http://127.0.0.1:${stack.port}${loginPath}`, { method: 'POST', headers: { host: appHost(stack), cookie, ...headers } });
      assert.equal(res.statusCode, 403, JSON.stringify(headers));
      assert.equal(res.headers.location, undefined);
      await res.body.dump();
    }
    const framed = await hostGet(stack, appHost(stack), loginPath, { cookie });
    assert.match(String(framed.headers['content-security-policy']), /frame-ancestors 'none'/, 'the confirmation cannot be clickjacked');

    await alice.page.click('#decline');
    await alice.page.waitForSelector('text=No token handed out');
    assert.deepEqual(received, [], 'declining hands nothing');

    await alice.page.goto(`${stack.appUrl.replace(/\/$/, '')}${loginPath}`);
    await alice.page.click('#allow');
    await alice.page.waitForURL((u) => u.port === String(port), { timeout: 10_000 });
    assert.equal(received.length, 1);
    const whoami = await hostGet(stack, appHost(stack), '/api/whoami', { authorization: `Bearer ${received[0]}`, accept: 'application/json' });
    assert.equal(whoami.status, 200);
  } finally {
    listener.close();
    await alice.context.close();
  }
});
