// Vallum's pages for people, in Chromium: the user page /.vallum/ and the sign-in error pages (the IdP's error,
// a declined sign-in, a state mismatch, a lost sign-in cookie), each clear, with a way back, and no stack trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { signInWithBrowser } from './identity-helpers.js';

let stack: Stack;
let browser: Browser;

before(async () => {
  stack = await startStack({ mode: 'all-in-one' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

async function assertErrorPage(page: Page, message: RegExp, withRetry: boolean) {
  assert.equal(await page.locator('h1').textContent(), 'Sign-in failed');
  const text = (await page.locator('body').textContent()) ?? '';
  assert.match(text, message);
  assert.doesNotMatch(text, /\bat \S+ \(|Error:|node_modules/, 'no stack trace');
  if (withRetry) assert.equal(await page.getByRole('link', { name: 'Try again' }).getAttribute('href'), stack.appUrl);
}

test('the user page shows who you are, your groups, your session and the routes you may open; sign out works', async () => {
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  await bob.page.goto(`${stack.appUrl}.vallum/`);
  assert.equal(await bob.page.locator('#email').textContent(), 'bob@example.com');
  assert.deepEqual(await bob.page.locator('#groups li').allTextContents(), ['engineering']);
  assert.match((await bob.page.locator('#expires').textContent()) ?? '', /^in \d+ h/);
  const routes = await bob.page.locator('#routes a').allTextContents();
  assert.ok(routes.includes(`app.localhost:${stack.port}/`) && routes.includes(`public.localhost:${stack.port}/`), routes.join(' '));
  assert.ok(!routes.includes(`admin.localhost:${stack.port}/`), 'bob may not open admin');

  await bob.page.locator('#sign-out').click();
  // The IdP asks to confirm its own sign-out; Vallum's session is already gone.
  await bob.page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await bob.page.waitForURL((u) => u.pathname === '/.vallum/signed_out', { timeout: 10_000 });
  await bob.page.goto(`${stack.appUrl}.vallum/`);
  await bob.page.waitForURL((u) => u.pathname.startsWith('/interaction/'), { timeout: 10_000 });
  await bob.context.close();
});

test('a sign-in declined at the IdP shows a clear page with a way back', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(stack.appUrl);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.waitForURL((u) => u.pathname === '/oauth2/callback', { timeout: 10_000 });
  await assertErrorPage(page, /refused the sign-in \(access_denied: The user declined to sign in\.\)/, true);
  await context.close();
});

test('a state mismatch and a lost sign-in cookie show clear pages, never a stack trace', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(stack.appUrl);
  await page.locator('form#login').waitFor();
  const res = await page.goto(`${stack.authenticateUrl}/oauth2/callback?code=forged&state=not-the-one-we-sent&iss=${encodeURIComponent(stack.issuer)}`);
  assert.equal(res?.status(), 400);
  await assertErrorPage(page, /could not be verified/, true);

  const fresh = await (await browser.newContext()).newPage();
  const lost = await fresh.goto(`${stack.authenticateUrl}/oauth2/callback?code=x&state=y`);
  assert.equal(lost?.status(), 400);
  await assertErrorPage(fresh, /took too long or was started in another browser/, false);
  await fresh.context().close();
  await context.close();
});
