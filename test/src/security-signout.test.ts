// Sign-out revokes at once, wherever it starts, and cannot be started by another site: through the real stack
// (oidc-provider, the demo app, Redis where named), all-in-one and split.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { getFreePort, launchBrowser } from '@vallum/testing';
import { spawnService, startStack, stopChild, type Stack, type StackOptions } from './harness.js';
import { appHost, hostGet, signInWithBrowser, waitUntil, type SignedIn } from './identity-helpers.js';

/** The app's answer to this cookie on a proxy port: 200 while the session works, 302 (to sign-in) once it ended. */
const whoami = (stack: Stack, cookie: string, port = stack.port) =>
  hostGet(stack, appHost(stack), '/api/whoami', { cookie: `_vallum=${cookie}` }, port).then((r) => r.status);

/** Asks the route host to sign out and does NOT follow the redirect to authenticate. */
async function signOutWithoutFollowing(stack: Stack, cookie: string, method: 'GET' | 'POST' = 'GET', headers: Record<string, string> = {}) {
  const res = await request(`${stack.proxyUrl}/.vallum/sign_out`, { method, headers: { host: appHost(stack), cookie: `_vallum=${cookie}`, ...headers } });
  return { status: res.statusCode, location: res.headers.location, text: await res.body.text() };
}

// One Chromium for every configuration below: each sign-in has a browser context of its own.
let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const configurations: Array<{ name: string; options: StackOptions; secondProcess?: boolean }> = [
  { name: 'all-in-one, memory store', options: { mode: 'all-in-one' } },
  { name: 'split, Redis', options: { mode: 'split', redis: true } },
  { name: 'two all-in-one processes sharing Redis', options: { mode: 'all-in-one', redis: true }, secondProcess: true },
];

for (const { name, options, secondProcess } of configurations) {
  describe(`sign-out revokes at once (${name})`, () => {
    let stack: Stack;
    let second: ChildProcess | undefined;
    let secondPort = 0;
    before(async () => {
      stack = await startStack(options);
      if (secondProcess) {
        const file = join(mkdtempSync(join(tmpdir(), 'vallum-signout-')), 'vallum.yaml');
        writeFileSync(file, stack.configText);
        secondPort = await getFreePort();
        second = await spawnService(file, 'all', { VALLUM_ADDRESS: `127.0.0.1:${secondPort}`, VALLUM_LOG_LEVEL: 'warn' }, secondPort);
      }
    });
    after(async () => {
      if (second) await stopChild(second);
      await stack?.close();
    });

    test('regression: a cookie is refused right after a GET sign-out whose redirect to authenticate is not followed', async () => {
      const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
      const cookie = await alice.cookie();
      // Warm: the proxy (both, when there are two) now answers from its in-process copy of the session.
      assert.equal(await whoami(stack, cookie), 200);
      assert.equal(await whoami(stack, cookie), 200);
      if (second) assert.equal(await whoami(stack, cookie, secondPort), 200);
      const signOut = await signOutWithoutFollowing(stack, cookie);
      assert.equal(signOut.status, 302);
      assert.equal(new URL(String(signOut.location)).pathname, '/.vallum/sign_out');
      assert.equal(await whoami(stack, cookie), 302, 'the cookie no longer opens the app');
      if (second) await waitUntil('the other process refuses the session', async () => (await whoami(stack, cookie, secondPort)) === 302, 1000, 20);
      await alice.context.close();
    });

    test('a same-origin POST sign-out (Origin of the route host) ends the session at once', async () => {
      const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
      const cookie = await bob.cookie();
      assert.equal(await whoami(stack, cookie), 200);
      const signOut = await signOutWithoutFollowing(stack, cookie, 'POST', { origin: `http://${appHost(stack)}`, 'sec-fetch-site': 'same-origin' });
      assert.equal(signOut.status, 302);
      assert.equal(await whoami(stack, cookie), 302);
      await bob.context.close();
    });
  });
}

describe('sign-out cannot be started by another site; the signed-out page says what happened (all-in-one)', () => {
  let stack: Stack;
  let attacker: Server;
  let attackerUrl = '';
  /** The page another site serves: `html` is what it does with the victim's browser. */
  let attackerPage = '';
  before(async () => {
    stack = await startStack({ mode: 'all-in-one' });
    attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(attackerPage));
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as { port: number }).port}/`;
  });
  after(async () => {
    await new Promise((r) => attacker?.close(r));
    await stack?.close();
  });

  const appSignOut = () => `http://${appHost(stack)}/.vallum/sign_out`;
  const authSignOut = () => `${stack.authenticateUrl}/.vallum/sign_out`;

  async function expectConfirmation(user: SignedIn, what: string) {
    await user.page.locator('#confirm-sign-out').waitFor({ timeout: 20_000 });
    assert.match((await user.page.locator('#confirm-message').textContent()) ?? '', /Nothing has been signed out/);
    assert.equal(await whoami(stack, await user.cookie()), 200, `${what}: still signed in`);
  }

  test("a cross-site link (GET) to the route host's sign-out gets a confirmation page and signs nothing out; its button does", async () => {
    const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
    attackerPage = `<a id="go" href="${appSignOut()}">win a prize</a>`;
    await alice.page.goto(attackerUrl);
    await alice.page.click('#go');
    await expectConfirmation(alice, 'cross-site GET');
    const cookie = await alice.cookie();
    await alice.page.click('#confirm-sign-out');
    await alice.page.waitForURL((u) => !u.href.startsWith(appSignOut()), { timeout: 20_000 });
    assert.equal(await whoami(stack, cookie), 302, 'the confirmed sign-out ended the session');
    await alice.context.close();
  });

  test("a cross-site auto-submitted form (POST) to the route host's sign-out gets the confirmation page", async () => {
    const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
    attackerPage = `<form id="f" method="post" action="${appSignOut()}"></form><script>document.getElementById('f').submit()</script>`;
    await bob.page.goto(attackerUrl);
    await expectConfirmation(bob, 'cross-site POST');
    await bob.context.close();
  });

  test('the confirmation page cannot be framed by another site', async () => {
    const res = await request(`${stack.proxyUrl}/.vallum/sign_out`, { headers: { host: appHost(stack), 'sec-fetch-site': 'cross-site' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.match(await res.body.text(), /id="confirm-sign-out"/);
  });

  test('without Fetch Metadata, an Origin or Referer of another site gets the confirmation page too', async () => {
    const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
    const cookie = await alice.cookie();
    const byOrigin = await signOutWithoutFollowing(stack, cookie, 'POST', { origin: 'http://evil.example' });
    assert.equal(byOrigin.status, 200);
    assert.match(byOrigin.text, /id="confirm-sign-out"/);
    const byReferer = await signOutWithoutFollowing(stack, cookie, 'GET', { referer: 'http://evil.example/page' });
    assert.equal(byReferer.status, 200);
    assert.equal(await whoami(stack, cookie), 200, 'still signed in');
    const sameSite = await signOutWithoutFollowing(stack, cookie, 'GET', { 'sec-fetch-site': 'same-site' });
    assert.equal(sameSite.status, 302, 'a same-site GET signs out');
    assert.equal(await whoami(stack, cookie), 302);
    await alice.context.close();
  });

  test("a same-site POST (Origin of another of Vallum's route hosts) signs out at once", async () => {
    const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
    const cookie = await bob.cookie();
    const signOut = await signOutWithoutFollowing(stack, cookie, 'POST', { origin: new URL(stack.publicUrl).origin, 'sec-fetch-site': 'same-site' });
    assert.equal(signOut.status, 302);
    assert.equal(await whoami(stack, cookie), 302);
    await bob.context.close();
  });

  test("a cross-site link to authenticate's sign-out gets a confirmation page and ends nothing", async () => {
    const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
    attackerPage = `<a id="go" href="${authSignOut()}?redirect_uri=${encodeURIComponent(stack.appUrl)}">win a prize</a>`;
    await bob.page.goto(attackerUrl);
    await bob.page.click('#go');
    await expectConfirmation(bob, 'cross-site GET at authenticate');
    // Another user's sign_out_token replayed at this browser vouches for nothing.
    const mallory = await signInWithBrowser(browser, stack, 'alice@example.com');
    const malloryOut = await signOutWithoutFollowing(stack, await mallory.cookie());
    const token = new URL(String(malloryOut.location)).searchParams.get('sign_out_token');
    assert.ok(token);
    attackerPage = `<a id="go" href="${authSignOut()}?sign_out_token=${encodeURIComponent(token)}">win a prize</a>`;
    await bob.page.goto(attackerUrl);
    await bob.page.click('#go');
    await expectConfirmation(bob, 'replayed sign_out_token');
    await bob.page.click('#confirm-sign-out');
    await bob.page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await bob.page.waitForURL((u) => u.pathname === '/.vallum/signed_out', { timeout: 20_000 });
    await mallory.context.close();
    await bob.context.close();
  });

  test("the app's own sign-out link (same-origin GET) signs out through authenticate and the IdP", async () => {
    const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
    const cookie = await alice.cookie();
    await alice.page.click('#sign-out');
    await alice.page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await alice.page.waitForURL((u) => u.pathname === '/.vallum/signed_out', { timeout: 20_000 });
    assert.equal(await whoami(stack, cookie), 302);
    await alice.context.close();
  });

  for (const answer of ['declined', 'accepted'] as const) {
    test(`the signed-out page does not claim the IdP session ended when the user ${answer} the IdP's prompt`, async () => {
      const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
      await alice.page.click('#sign-out');
      await alice.page.getByRole('button', { name: answer === 'accepted' ? 'Yes, sign me out' : 'No, stay signed in' }).click();
      await alice.page.waitForURL((u) => u.pathname === '/.vallum/signed_out', { timeout: 20_000 });
      const vallum = (await alice.page.locator('#vallum-status').textContent()) ?? '';
      const idp = (await alice.page.locator('#idp-status').textContent()) ?? '';
      assert.match(vallum, /Vallum session has ended/);
      assert.match(idp, /asked your identity provider/);
      assert.match(idp, /If you chose to stay signed in there, you are still signed in/);
      assert.doesNotMatch(`${vallum} ${idp}`, /(identity provider|IdP)( session)? (has )?ended|signed out (of|at) (your|the) identity provider/i);
      // What the page warns of is real: declined, the IdP still knows the user; accepted, it asks for a password.
      await alice.page.goto(stack.appUrl);
      if (answer === 'declined') {
        await alice.page.waitForURL((u) => u.href.startsWith(stack.appUrl), { timeout: 20_000 });
        assert.equal(await alice.page.locator('#email').textContent(), 'alice@example.com', 'signed in again without a password');
      } else {
        await alice.page.locator('input[name="password"]').waitFor({ timeout: 20_000 });
      }
      await alice.context.close();
    });
  }
});
