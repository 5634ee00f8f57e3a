// Step-up per route against a real oidc-provider that supports acr and max_age, through the real proxy and Redis,
// in split mode, in Chromium: `acr_values` asks the IdP for a stronger sign-in and refuses a weaker one with a clear page,
// `max_session_age` sends an old sign-in back to the IdP (which asks for the password again), the session is
// upgraded in place (the user's other routes keep working), and the `acr` and `auth_age` criteria decide.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { SessionStore } from '@vallum/cache';
import { signInAtDemoIdp } from '@vallum/testing';
import type { Stack } from './harness.js';
import { signInWithBrowser, startIdentityStack, waitUntil } from './identity-helpers.js';

const PASSWORD_ACR = 'urn:vallum:password';
const MFA_ACR = 'urn:vallum:mfa';
const MAX_AGE_S = 4;
let stack: Stack;
let browser: Browser;
let store: SessionStore;
let identity: Awaited<ReturnType<typeof startIdentityStack>>;

before(async () => {
  // Split mode: the sign-in's acr and auth_time cross the cache and authorize services' HTTP APIs.
  identity = await startIdentityStack({
    mode: 'split',
    idp: { acrValues: [PASSWORD_ACR, MFA_ACR] },
    configExtra: ({ port, appUrl }) => `  - name: mfa
    from: http://mfa.localhost:${port}
    to: ${appUrl}
    acr_values: [${MFA_ACR}]
    allow_any_authenticated_user: true
  - name: fresh
    from: http://fresh.localhost:${port}
    to: ${appUrl}
    max_session_age: ${MAX_AGE_S}s
    allow_any_authenticated_user: true
  - name: gated
    from: http://gated.localhost:${port}
    to: ${appUrl}
    policy:
      allow:
        and:
          - acr: { in: [${MFA_ACR}] }
          - auth_age: { less_than: 1h }
`,
  });
  ({ stack, browser, store } = identity);
});

after(async () => {
  await identity?.close();
});

const url = (host: string) => `http://${host}.localhost:${stack.port}/`;
const aliceSessions = () => store.findSessions({ sub: 'alice' });
const onIdpLogin = (page: Page) => page.url().startsWith(stack.issuer) && new URL(page.url()).pathname.startsWith('/interaction/');

/** Opens a URL and says whether the IdP asked for the password (its login form) on the way. */
async function open(page: Page, target: string): Promise<{ status: number | undefined; askedPassword: boolean }> {
  const response = await page.goto(target);
  if (!onIdpLogin(page)) return { status: response?.status(), askedPassword: false };
  const [final] = await Promise.all([
    page.waitForResponse((r) => r.request().isNavigationRequest() && !r.url().startsWith(stack.issuer) && r.status() !== 302, { timeout: 15_000 }),
    signInAtDemoIdp(page, 'alice@example.com'),
  ]);
  await page.waitForLoadState();
  return { status: final.status(), askedPassword: true };
}

test('acr_values: a weaker sign-in is refused with a clear page, a stronger one upgrades the same session; max_session_age asks for the password again', async () => {
  const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
  const [first] = await aliceSessions();
  assert.ok(first, 'alice has a session');
  assert.equal(first.acr, PASSWORD_ACR, 'the acr the IdP reported is kept in the session');
  assert.equal(typeof first.authTime, 'number');
  const { page } = alice;

  // The policy criteria: no MFA yet, so the gated route says what it needs.
  const gated = await open(page, url('gated'));
  assert.equal(gated.status, 403);
  assert.match(await page.content(), /requires sign-in assurance urn:vallum:mfa/);

  // The IdP can only do a password: it asks for it again (acr_values unmet) and answers with it; Vallum refuses.
  const weak = await open(page, url('mfa'));
  assert.equal(weak.askedPassword, true, 'the IdP was asked for the stronger assurance and prompted');
  assert.equal(weak.status, 403);
  const refusal = await page.content();
  assert.match(refusal, /needs a stronger sign-in \(urn:vallum:mfa\)/);
  assert.match(refusal, /signed you in with urn:vallum:password/);
  assert.match(refusal, /<title>A stronger sign-in is needed/);
  // Nothing was lost: the same session still opens the app without any sign-in.
  const stillApp = await open(page, stack.appUrl);
  assert.deepEqual(stillApp, { status: 200, askedPassword: false });
  assert.deepEqual(
    (await aliceSessions()).map((s) => [s.id, s.acr]),
    [[first.id, PASSWORD_ACR]],
  );

  // With a second factor the step-up succeeds, and upgrades the session in place.
  stack.idp.setLoginAcr(MFA_ACR);
  const strong = await open(page, url('mfa'));
  assert.deepEqual(strong, { status: 200, askedPassword: true });
  assert.equal(new URL(page.url()).host, `mfa.localhost:${stack.port}`);
  const upgraded = await aliceSessions();
  assert.deepEqual(
    upgraded.map((s) => [s.id, s.acr]),
    [[first.id, MFA_ACR]],
    'one session, same id, new acr',
  );
  assert.deepEqual(await open(page, stack.appUrl), { status: 200, askedPassword: false }, 'the app host keeps working with the upgraded session');
  assert.deepEqual(await open(page, url('mfa')), { status: 200, askedPassword: false }, 'the stepped-up route stays open');
  assert.deepEqual(await open(page, url('gated')), { status: 200, askedPassword: false }, 'acr and auth_age criteria allow now');

  // max_session_age: once the sign-in is older than it, the IdP is asked with max_age and asks for the password.
  const before = upgraded[0]!.authTime!;
  await waitUntil('the sign-in is older than max_session_age', async () => Date.now() - before > MAX_AGE_S * 1000 + 1000, 15_000, 200);
  const stale = await open(page, url('fresh'));
  assert.deepEqual(stale, { status: 200, askedPassword: true });
  const [renewed] = await aliceSessions();
  assert.equal(renewed?.id, first.id, 'still the same session');
  assert.ok(renewed.authTime! > before, 'the new auth_time is kept');
  assert.deepEqual(await open(page, url('fresh')), { status: 200, askedPassword: false }, 'fresh enough now');
  await alice.context.close();
});

test("regression: a step-up never upgrades someone else's session planted in the browser (fixation)", async () => {
  stack.idp.setLoginAcr(PASSWORD_ACR);
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  const [bobSession] = await store.findSessions({ sub: 'bob' });
  assert.ok(bobSession);
  const planted = (await bob.context.cookies(stack.authenticateUrl)).filter((c) => c.name === '_vallum');
  assert.equal(planted.length, 1, "bob's authenticate cookie");
  await bob.context.close();

  stack.idp.setLoginAcr(MFA_ACR);
  const victim = await browser.newContext();
  await victim.addCookies(planted);
  const page = await victim.newPage();
  assert.deepEqual(await open(page, url('mfa')), { status: 200, askedPassword: true });
  const mine = (await aliceSessions()).find((s) => s.acr === MFA_ACR && s.id !== bobSession.id);
  assert.ok(mine, 'alice got a session of her own');
  assert.deepEqual(await store.findSessions({ sub: 'bob' }), [], "bob's planted session was ended, not upgraded");
  await victim.close();
});
