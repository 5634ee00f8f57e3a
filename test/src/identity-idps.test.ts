// Several IdPs, end to end with two real oidc-provider instances (A, the default, on 127.0.0.1; B, `partners`, on
// 127.0.0.2), Redis and Chromium: a session belongs to the IdP that made it, a route needing B sends an A user to
// sign in at B, refresh, sign-out and back-channel logout each go to the session's own IdP, and a route accepting
// both shows a chooser. The last test runs the four services as separate processes.
import { randomBytes } from 'node:crypto';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import type { SessionStore } from '@vallum/cache';
import type { Session } from '@vallum/session';
import { DEMO_PASSWORD, DEMO_USERS, signInAtDemoIdp, type DemoUser } from '@vallum/testing';
import type { Stack, StackOptions } from './harness.js';
import { hostGet, postLogoutToken, startIdentityStack, waitUntil } from './identity-helpers.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const TOKEN_TTL_S = 4;
const INTERVAL_MS = 1000;
/** Both IdPs know the same users (the same `sub` at each: another user to Vallum); one user per test. */
const USERS: DemoUser[] = [
  ...DEMO_USERS,
  ...['dave', 'erin', 'grace', 'heidi'].map((sub) => ({ sub, email: `${sub}@example.com`, name: sub, password: DEMO_PASSWORD, groups: ['engineering'] })),
];

const options = (mode: StackOptions['mode']): Omit<StackOptions, 'redis'> => ({
  mode,
  // Readiness names its checks on the metrics listener only.
  metrics: true,
  extraIdps: ['partners'],
  idp: { accessTokenTtlSeconds: TOKEN_TTL_S, users: USERS },
  configExtra: ({ port, appUrl }) => `  - name: partners
    from: http://partners.localhost:${port}
    to: ${appUrl}
    allow_any_authenticated_user: true
    idp: partners
  - name: either
    from: http://either.localhost:${port}
    to: ${appUrl}
    allow_any_authenticated_user: true
    idp: [default, partners]
token_refresh_interval: 1s
`,
});

let identity: Awaited<ReturnType<typeof startIdentityStack>>;
let stack: Stack;
let browser: Browser;
let store: SessionStore;

before(async () => {
  identity = await startIdentityStack(options('all-in-one'));
  ({ stack, browser, store } = identity);
});

after(async () => {
  await identity?.close();
});

const partnersUrl = (s: Stack) => `http://partners.localhost:${s.port}/`;
const eitherUrl = (s: Stack) => `http://either.localhost:${s.port}/`;
const sessionsOf = async (s: SessionStore, sub: string) => s.findSessions({ sub });
const sessionAt = async (s: SessionStore, sub: string, idp: string): Promise<Session | undefined> =>
  (await sessionsOf(s, sub)).find((x) => (x.idp ?? 'default') === idp);
const hostCookie = async (page: Page, url: string) => {
  const found = (await page.context().cookies(url)).find((c) => c.name === '_vallum');
  assert.ok(found, `no _vallum cookie for ${url}`);
  return found.value;
};
const status = async (s: Stack, url: string, cookie: string) => (await hostGet(s, new URL(url).host, '/api/whoami', { cookie: `_vallum=${cookie}` })).status;

/** Opens `url`, signs in at the IdP the browser is sent to (which must be `issuer`), and waits to be back. */
async function signInAt(page: Page, url: string, issuer: string, email: string): Promise<void> {
  await page.goto(url);
  await page.locator('form#login').waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(new URL(page.url()).origin, issuer, `${url} sends the browser to sign in at ${issuer}`);
  await signInAtDemoIdp(page, email);
  await page.waitForURL((u) => u.href.startsWith(url), { timeout: 15_000 });
}

/** Signs a browser in at A (app host) and then at B (partners host): the user holds a session at each. */
async function signInAtBoth(s: Stack, email: string): Promise<{ page: Page; appCookie: string; partnersCookie: string; close(): Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signInAt(page, s.appUrl, s.issuer, email);
  await signInAt(page, partnersUrl(s), s.idps.partners!.issuer, email);
  return { page, appCookie: await hostCookie(page, s.appUrl), partnersCookie: await hostCookie(page, partnersUrl(s)), close: () => context.close() };
}

test('sign in at A, open a route that needs B, sign in again there, and both are open; each session belongs to its IdP', async () => {
  const alice = await signInAtBoth(stack, 'alice@example.com');
  const a = await sessionAt(store, 'alice', 'default');
  const b = await sessionAt(store, 'alice', 'partners');
  assert.ok(a && b && a.id !== b.id, 'one session at each IdP');
  assert.equal(a.idp, 'default');
  assert.equal(b.idp, 'partners');
  assert.equal(await status(stack, stack.appUrl, alice.appCookie), 200);
  assert.equal(await status(stack, partnersUrl(stack), alice.partnersCookie), 200);
  // Opening the app again needs no new sign-in at A: its session is still held.
  await alice.page.goto(stack.appUrl);
  assert.equal(new URL(alice.page.url()).host, new URL(stack.appUrl).host);

  // A's session does not satisfy the route that needs B (nor B's the route that needs A): sign in at the right one.
  const wrong = await hostGet(stack, new URL(partnersUrl(stack)).host, '/', { cookie: `_vallum=${alice.appCookie}` });
  assert.equal(wrong.status, 302);
  const to = new URL(String(wrong.headers.location));
  assert.equal(to.pathname, '/.vallum/sign_in');
  assert.deepEqual(to.searchParams.getAll('idp'), ['partners']);
  assert.equal(wrong.headers['set-cookie'], undefined, 'the cookie is left for the hand-off to replace');
  const back = await hostGet(stack, new URL(stack.appUrl).host, '/', { cookie: `_vallum=${alice.partnersCookie}` });
  assert.equal(back.status, 302);
  assert.deepEqual(new URL(String(back.headers.location)).searchParams.getAll('idp'), []);

  // The admin API takes admins of the default IdP only: B's `admins` group opens nothing (A's is refused by the
  // closed admin API, as without several IdPs).
  const adminPath = '/.vallum/admin/v1/users/alice/sessions';
  assert.equal((await hostGet(stack, new URL(partnersUrl(stack)).host, adminPath, { cookie: `_vallum=${alice.partnersCookie}` })).status, 401);
  assert.equal((await hostGet(stack, new URL(stack.appUrl).host, adminPath, { cookie: `_vallum=${alice.appCookie}` })).status, 403);

  // A sign-in link naming an IdP that is not configured is refused.
  const unknown = await hostGet(stack, new URL(stack.authenticateUrl).host, `/.vallum/sign_in?redirect_uri=${encodeURIComponent(stack.appUrl)}&idp=nobody`);
  assert.equal(unknown.status, 400);
  assert.match(unknown.text, /VALLUM_IDP_UNKNOWN|identity provider Vallum does not know/);
  await alice.close();
});

test('readiness reports each IdP', async () => {
  const res = await request(`${stack.metricsUrls.all}/readyz`);
  const body = (await res.body.json()) as { checks: Array<{ name: string; ok: boolean }> };
  assert.equal(res.statusCode, 200);
  assert.deepEqual(
    body.checks.filter((c) => c.name.startsWith('idp')).map((c) => [c.name, c.ok]),
    [
      ['idp', true],
      ['idp:partners', true],
    ],
  );
});

// pomerium #4759: a session was refreshed at the default IdP instead of its own. Here B's refresh token presented at
// A would be refused (invalid_grant) and end the session; each IdP's new groups reach only its own session.
test('regression pomerium #4759: tokens are refreshed at the IdP that made each session', async () => {
  const bob = await signInAtBoth(stack, 'bob@example.com');
  const a0 = (await sessionAt(store, 'bob', 'default'))!;
  const b0 = (await sessionAt(store, 'bob', 'partners'))!;
  stack.idps.partners!.setGroups('bob', ['partners-only']);
  stack.idp.setGroups('bob', ['engineering', 'from-a']);
  await waitUntil(
    'both sessions refreshed at their own IdP',
    async () => {
      const a = await sessionAt(store, 'bob', 'default');
      const b = await sessionAt(store, 'bob', 'partners');
      return (
        a?.accessToken !== a0.accessToken &&
        b?.accessToken !== b0.accessToken &&
        a?.groups.includes('from-a') === true &&
        b?.groups.includes('partners-only') === true
      );
    },
    TOKEN_TTL_S * 1000 + 10 * INTERVAL_MS,
    100,
  );
  const a = (await sessionAt(store, 'bob', 'default'))!;
  const b = (await sessionAt(store, 'bob', 'partners'))!;
  assert.deepEqual([a.id, b.id], [a0.id, b0.id], 'neither session ended');
  assert.deepEqual(b.groups, ['partners-only'], "A's groups never reach B's session");
  assert.deepEqual(a.groups, ['engineering', 'from-a']);
  assert.equal(await status(stack, stack.appUrl, bob.appCookie), 200);
  assert.equal(await status(stack, partnersUrl(stack), bob.partnersCookie), 200);
  await bob.close();
});

test("back-channel logout from B ends only B's session; a token B signed in A's name is refused", async () => {
  const dave = await signInAtBoth(stack, 'dave@example.com');
  const b = stack.idps.partners!;
  const now = Math.floor(Date.now() / 1000);
  const claims = (iss: string) => ({ iss, aud: 'vallum-demo', sub: 'dave', iat: now, jti: randomBytes(8).toString('hex'), events: { [LOGOUT_EVENT]: {} } });
  assert.equal((await postLogoutToken(stack, await b.signJwt(claims(stack.issuer), 'logout+jwt'))).status, 400, "B's key does not speak for A");
  assert.equal(await status(stack, stack.appUrl, dave.appCookie), 200);
  assert.equal((await postLogoutToken(stack, await b.signJwt(claims(b.issuer), 'logout+jwt'))).status, 200);
  await waitUntil('B session ends', async () => (await status(stack, partnersUrl(stack), dave.partnersCookie)) === 302, 3000, 20);
  assert.equal(await sessionAt(store, 'dave', 'partners'), undefined);
  assert.ok(await sessionAt(store, 'dave', 'default'), "A's session of the same sub is another IdP's: kept");
  assert.equal(await status(stack, stack.appUrl, dave.appCookie), 200);
  await dave.close();
});

test('sign out of each IdP: the right end_session_endpoint, and the other session stays', async () => {
  const dave = await signInAtBoth(stack, 'erin@example.com');
  const aIssuer = new URL(stack.issuer);
  const bIssuer = new URL(stack.idps.partners!.issuer);
  const signOut = async (url: string, idpOrigin: string) => {
    await dave.page.goto(url);
    await dave.page.click('#sign-out');
    await dave.page.waitForURL((u) => u.origin === idpOrigin, { timeout: 15_000 });
    await dave.page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await dave.page.waitForURL((u) => u.pathname === '/.vallum/signed_out', { timeout: 20_000 });
    return (await dave.page.locator('#idp-status').textContent()) ?? '';
  };
  const partnersSession = (await sessionAt(store, 'erin', 'partners'))!.id;
  const appSession = (await sessionAt(store, 'erin', 'default'))!.id;
  const fromB = await signOut(partnersUrl(stack), bIssuer.origin);
  assert.match(fromB, new RegExp(`asked your identity provider \\(${bIssuer.host.replaceAll('.', '\\.')}\\)`));
  assert.equal(await status(stack, partnersUrl(stack), dave.partnersCookie), 302);
  assert.equal(
    (await sessionsOf(store, 'erin')).some((s) => s.id === partnersSession),
    false,
  );
  assert.equal(await status(stack, stack.appUrl, dave.appCookie), 200, "signing out of B leaves A's session");
  const fromA = await signOut(stack.appUrl, aIssuer.origin);
  assert.match(fromA, new RegExp(`asked your identity provider \\(${aIssuer.host.replaceAll('.', '\\.')}\\)`));
  assert.equal(await status(stack, stack.appUrl, dave.appCookie), 302);
  assert.equal(
    (await sessionsOf(store, 'erin')).some((s) => s.id === appSession),
    false,
  );
  await dave.close();
});

test('a route accepting both IdPs shows a chooser; the choice goes through the normal sign-in', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(eitherUrl(stack));
  assert.equal(new URL(page.url()).origin, new URL(stack.authenticateUrl).origin);
  assert.equal(await page.locator('h1').textContent(), 'Choose how to sign in');
  // For people to look at beside the other pages (test/src/branded-pages.test.ts), not compared.
  await page.screenshot({ path: fileURLToPath(new URL('../../test-artifacts/pages/idp-chooser.png', import.meta.url)), fullPage: true });
  const choices = page.locator('a.idp-choice');
  assert.deepEqual(await choices.allTextContents(), [new URL(stack.issuer).host, 'IdP PARTNERS']);
  await page.getByRole('link', { name: 'IdP PARTNERS' }).click();
  await page.locator('form#login').waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(new URL(page.url()).origin, stack.idps.partners!.issuer);
  await signInAtDemoIdp(page, 'grace@example.com');
  await page.waitForURL((u) => u.href.startsWith(eitherUrl(stack)), { timeout: 15_000 });
  assert.equal((await sessionAt(store, 'grace', 'partners'))?.idp, 'partners');
  assert.equal(await status(stack, eitherUrl(stack), await hostCookie(page, eitherUrl(stack))), 200);
  await context.close();

  // Holding a session at one of them already, there is nothing to choose.
  const again = await browser.newContext();
  const second = await again.newPage();
  await signInAt(second, stack.appUrl, stack.issuer, 'grace@example.com');
  await second.goto(eitherUrl(stack));
  await second.waitForURL((u) => u.href.startsWith(eitherUrl(stack)), { timeout: 15_000 });
  assert.equal(await status(stack, eitherUrl(stack), await hostCookie(second, eitherUrl(stack))), 200);
  await again.close();
});

test('split mode: authenticate and cache in their own processes sign in, refresh and sign out at each IdP', async () => {
  const split = await startIdentityStack(options('split'));
  try {
    const previous = browser;
    browser = split.browser;
    const erin = await signInAtBoth(split.stack, 'heidi@example.com');
    browser = previous;
    const b0 = (await sessionAt(split.store, 'heidi', 'partners'))!;
    split.stack.idps.partners!.setGroups('heidi', ['split-b']);
    await waitUntil(
      "the cache process refreshes B's session at B",
      async () => (await sessionAt(split.store, 'heidi', 'partners'))?.groups.includes('split-b') === true,
      TOKEN_TTL_S * 1000 + 10 * INTERVAL_MS,
      100,
    );
    assert.equal((await sessionAt(split.store, 'heidi', 'partners'))?.id, b0.id);
    assert.ok(await sessionAt(split.store, 'heidi', 'default'), "A's session survives B's refresh");
    assert.equal(await status(split.stack, partnersUrl(split.stack), erin.partnersCookie), 200);
    assert.equal(await status(split.stack, split.stack.appUrl, erin.appCookie), 200);
    const ready = await request(`${split.stack.metricsUrls.authenticate}/readyz`);
    const checks = ((await ready.body.json()) as { checks: Array<{ name: string; ok: boolean }> }).checks;
    assert.deepEqual(
      checks.filter((c) => c.name.startsWith('idp')).map((c) => [c.name, c.ok]),
      [
        ['idp', true],
        ['idp:partners', true],
      ],
    );
    await erin.page.goto(partnersUrl(split.stack));
    await erin.page.click('#sign-out');
    await erin.page.waitForURL((u) => u.origin === split.stack.idps.partners!.issuer, { timeout: 15_000 });
    await erin.page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await erin.page.waitForURL((u) => u.pathname === '/.vallum/signed_out', { timeout: 20_000 });
    assert.equal(await sessionAt(split.store, 'heidi', 'partners'), undefined);
    assert.equal(await status(split.stack, split.stack.appUrl, erin.appCookie), 200);
    await erin.close();
  } finally {
    await split.close();
  }
});
