// The walking skeleton's acceptance, in a real Chromium against a real oidc-provider: all-in-one (memory cache)
// and split (four processes over HTTP, Redis).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, signInAtDemoIdp } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';

// One Chromium for every configuration below: each sign-in has a browser context of its own.
let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

for (const mode of ['all-in-one', 'split'] as const) {
  describe(`sign-in in Chromium, ${mode}${mode === 'split' ? ' with Redis' : ''}`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ mode, redis: mode === 'split' });
    });
    after(async () => {
      await stack?.close();
    });

    async function openAppSignedIn(email: string, url = stack.appUrl): Promise<Page> {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(url);
      assert.ok(page.url().startsWith(stack.issuer), `expected the IdP, got ${page.url()}`);
      await signInAtDemoIdp(page, email);
      await page.waitForURL((u) => u.href.startsWith(url), { timeout: 15_000 });
      return page;
    }

    test('the admin signs in at the IdP and the app shows the verified identity', async () => {
      const page = await openAppSignedIn('alice@example.com');
      assert.equal(await page.textContent('#email'), 'alice@example.com');
      assert.match((await page.textContent('#groups')) ?? '', /admins/);
      assert.equal(await page.textContent('#jwt-status'), 'verified');
      const claims = JSON.parse((await page.textContent('#jwt-claims')) ?? '{}') as { aud?: string; email?: string };
      assert.equal(claims.aud, `app.localhost:${stack.port}`);
      assert.equal(claims.email, 'alice@example.com');

      // Single sign-on: another route host gets the session through the hand-off, without the IdP form.
      await page.goto(stack.adminUrl);
      await page.waitForURL((u) => u.href.startsWith(stack.adminUrl), { timeout: 15_000 });
      assert.equal(await page.textContent('#email'), 'alice@example.com');
      await page.context().close();
    });

    test('a user the policy does not allow gets the 403 page with the reason', async () => {
      const page = await openAppSignedIn('carol@example.com');
      assert.equal(await page.title(), 'Access denied · Vallum');
      const reasons = (await page.textContent('#reasons')) ?? '';
      assert.match(reasons, /contractors|admins|engineering/);
      assert.equal(await page.textContent('#user'), 'carol@example.com');
      await page.context().close();
    });

    test('after sign-out, reopening the app asks for sign-in again', async () => {
      const page = await openAppSignedIn('alice@example.com');
      await page.click('text=Sign out');
      // The IdP may ask to confirm ending its own session.
      const confirm = page.locator('button[name="logout"], button:has-text("Yes, sign me out")');
      await Promise.race([
        page.waitForURL((u) => u.pathname === '/.vallum/signed_out', { timeout: 15_000 }),
        confirm
          .first()
          .waitFor({ timeout: 15_000 })
          .then(() => confirm.first().click()),
      ]);
      await page.waitForURL((u) => u.pathname === '/.vallum/signed_out', { timeout: 15_000 });
      assert.match((await page.textContent('h1')) ?? '', /signed out/i);
      await page.goto(stack.appUrl);
      assert.ok(page.url().startsWith(stack.issuer), `expected the IdP sign-in, got ${page.url()}`);
      await page.locator('input[name="password"]').waitFor({ timeout: 10_000 });
      await page.context().close();
    });
  });
}
