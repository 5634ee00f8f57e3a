// Sign-out everywhere: two Vallum processes share one Redis; a sign-out on one, or an OIDC back-channel logout from
// the IdP, stops both from honouring the session within a second (Redis pub/sub drops their in-process copies).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { loadVallumConfigText } from '@vallum/cmd';
import { getFreePort, launchBrowser } from '@vallum/testing';
import { spawnService, startStack, stopChild, type Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser, waitUntil } from './identity-helpers.js';

let stack: Stack;
let browser: Browser;
let second: ChildProcess;
let secondPort: number;

before(async () => {
  stack = await startStack({ mode: 'all-in-one', redis: true, configExtra: 'admin_policy:\n  allow:\n    or:\n      - groups: { has: admins }\n' });
  const dir = mkdtempSync(join(tmpdir(), 'vallum-two-'));
  const file = join(dir, 'vallum.yaml');
  writeFileSync(file, stack.configText);
  secondPort = await getFreePort();
  second = await spawnService(file, 'all', { VALLUM_ADDRESS: `127.0.0.1:${secondPort}`, VALLUM_LOG_LEVEL: 'warn' }, secondPort);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (second) await stopChild(second);
  await stack?.close();
});

/** Both processes' answers for the app with this cookie; 0 for a response cut off as its session ended. */
const statuses = async (cookie: string) => {
  const headers = { cookie: `_vallum=${cookie}` };
  const status = (port: number) =>
    hostGet(stack, appHost(stack), '/api/whoami', headers, port).then(
      (r) => r.status,
      () => 0,
    );
  return [await status(stack.port), await status(secondPort)];
};

test('a sign-out on one proxy process ends the session on the other within 1 s', async () => {
  const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
  const cookie = await alice.cookie();
  // Warm both processes: from now on they answer from their in-process copies.
  assert.deepEqual(await statuses(cookie), [200, 200]);
  assert.deepEqual(await statuses(cookie), [200, 200]);

  const signOut = await hostGet(stack, appHost(stack), '/.vallum/sign_out', { cookie: `_vallum=${cookie}` });
  assert.equal(signOut.status, 302);
  const next = new URL(String(signOut.headers.location));
  const ended = await hostGet(stack, next.host, `${next.pathname}${next.search}`);
  assert.equal(ended.status, 302);
  const took = await waitUntil('both processes refuse the session', async () => (await statuses(cookie)).every((s) => s === 302), 1000, 20);
  assert.ok(took < 1000);
  await alice.context.close();
});

test('a back-channel logout from the IdP revokes the session on both processes within 1 s', async () => {
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  const cookie = await bob.cookie();
  assert.deepEqual(await statuses(cookie), [200, 200]);
  // The user signs out at the IdP itself; the IdP tells Vallum over the back channel.
  await bob.page.goto(`${stack.issuer}/session/end`);
  await bob.page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await bob.page.waitForURL((u) => u.href.startsWith(stack.issuer) && !u.pathname.endsWith('/session/end'), { timeout: 10_000 });
  const took = await waitUntil('both processes refuse the session', async () => (await statuses(cookie)).every((s) => s === 302), 1000, 20);
  assert.ok(took < 1000);
  await bob.context.close();
});

test('an unsigned (alg none) or missing logout token is refused and revokes nothing', async () => {
  const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
  const cookie = await alice.cookie();
  const post = (body: string) => fetchTo(`${stack.authenticateUrl}/.vallum/backchannel_logout`, body);
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'logout+jwt' })).toString('base64url');
  const claims = {
    iss: stack.issuer,
    aud: 'vallum-demo',
    sub: 'alice',
    iat: Math.floor(Date.now() / 1000),
    jti: 'x1',
    events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
  };
  const none = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
  assert.equal((await post(`logout_token=${none}`)).status, 400);
  assert.equal((await post('')).status, 400);
  assert.deepEqual(await statuses(cookie), [200, 200]);
  await alice.context.close();
});

test("the admin API, behind admin_policy, lists a user's sessions and revokes them on both processes within 1 s", async () => {
  const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  const admin = async (method: 'GET' | 'DELETE', path: string, who: string) => {
    const res = await request(`http://127.0.0.1:${stack.port}/.vallum/admin/v1${path}`, {
      method,
      headers: { host: appHost(stack), cookie: `_vallum=${who}` },
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  };
  const aliceCookie = await alice.cookie();
  const bobCookie = await bob.cookie();
  assert.equal((await admin('GET', '/users/alice/sessions', bobCookie)).status, 403, 'bob is not an admin');
  assert.equal((await admin('GET', '/users/bob/sessions', 'forged')).status, 401);
  const listed = await admin('GET', '/users/bob/sessions', aliceCookie);
  assert.equal(listed.status, 200);
  const sessions = listed.body.sessions as Array<Record<string, unknown>>;
  assert.ok(sessions.length >= 1 && sessions.every((s) => s.sub === 'bob' && s.email === 'bob@example.com'));
  assert.ok(
    sessions.every((s) => !('refreshToken' in s) && !('idToken' in s) && !('accessToken' in s)),
    'no tokens leave the cache',
  );
  assert.deepEqual(await statuses(bobCookie), [200, 200]);
  const revoked = await admin('DELETE', '/users/bob/sessions', aliceCookie);
  assert.equal(revoked.body.revoked, sessions.length);
  const took = await waitUntil('both processes refuse the session', async () => (await statuses(bobCookie)).every((s) => s === 302), 1000, 20);
  assert.ok(took < 1000);
  const own = (await admin('GET', '/users/alice/sessions', aliceCookie)).body.sessions as Array<{ id: string }>;
  assert.equal((await admin('DELETE', `/sessions/${own[0]!.id}`, aliceCookie)).body.revoked, 1);
  await alice.context.close();
  await bob.context.close();
});

test('an open server-sent-events stream on one process is closed within seconds of a revocation on the other', async () => {
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  const cookie = await bob.cookie();
  const res = await request(`http://127.0.0.1:${secondPort}/api/events`, { headers: { host: appHost(stack), cookie: `_vallum=${cookie}` } });
  assert.equal(res.statusCode, 200);
  let ticks = 0;
  const ended = new Promise<number>((resolve) => {
    res.body.on('data', (chunk: Buffer) => (ticks += (chunk.toString().match(/tick/g) ?? []).length));
    res.body.on('error', () => resolve(Date.now()));
    res.body.on('end', () => resolve(Date.now()));
    res.body.on('close', () => resolve(Date.now()));
  });
  await waitUntil('the stream flows', async () => ticks >= 2, 5000);
  const adminAnswer = await (
    await request(`http://127.0.0.1:${stack.port}/.vallum/admin/v1/users/bob/sessions`, { headers: { host: appHost(stack), cookie: `_vallum=${cookie}` } })
  ).body.text();
  assert.match(adminAnswer, /ACCESS_DENIED/, 'bob may not use the admin API');
  // Bob signs out on the first process; the stream he opened on the second must end.
  const signOut = await hostGet(stack, appHost(stack), '/.vallum/sign_out', { cookie: `_vallum=${cookie}` });
  const next = new URL(String(signOut.headers.location));
  const revokedAt = Date.now();
  await hostGet(stack, next.host, `${next.pathname}${next.search}`);
  const closedAt = await Promise.race([ended, new Promise<number>((r) => setTimeout(() => r(Infinity), 5000))]);
  assert.ok(closedAt - revokedAt < 3000, `stream closed after ${closedAt - revokedAt} ms`);
  await bob.context.close();
});

test('an invalid admin_policy is refused at load with its file:line:col', () => {
  const bad = stack.configText.replace(/admin_policy:[\s\S]*$/, 'admin_policy:\n  allow:\n    or:\n      - groupz: admins\n');
  assert.throws(
    () => loadVallumConfigText(bad, 'vallum.yaml'),
    (err: Error & { issues?: Array<{ location: string; message: string }> }) =>
      (err.issues ?? []).some((i) => /^vallum\.yaml:\d+:\d+$/.test(i.location) && /groupz/.test(i.message)),
  );
});

async function fetchTo(url: string, body: string) {
  const target = new URL(url);
  const res = await request(`http://127.0.0.1:${stack.port}${target.pathname}`, {
    method: 'POST',
    headers: { host: target.host, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  return { status: res.statusCode, text: await res.body.text() };
}
