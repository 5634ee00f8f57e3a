// Every page Vallum renders, in a real Chromium, with a config's branding and one page replaced from
// templates_dir: each is screenshotted to test-artifacts/pages/ (for people to look at, not compared), shows the
// branding, and escapes what users and IdPs send.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEMO_PASSWORD, DEMO_USERS, launchBrowser, signInAtDemoIdp } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/pages/', import.meta.url));
const SCRIPT = '<script>window.pwned=1</script>';
const BRANDING = `branding:
  title: Acme Access
  primary_color: "#c2410c"
  logo_url: /acme-logo.svg
  templates_dir: templates
`;

let stack: Stack;
let browser: Browser;
const shots: string[] = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startStack({
    mode: 'all-in-one',
    idp: {
      users: [...DEMO_USERS, { sub: 'mallory', email: 'mallory@example.com', name: SCRIPT, password: DEMO_PASSWORD, groups: ['admins', SCRIPT] }],
    },
    extraRoutes: (port) => `
  - name: down
    from: http://down.localhost:${port}
    to: http://127.0.0.1:1
    allow_public_unauthenticated_access: true
`,
    configExtra: BRANDING,
    watch: true,
    files: { 'templates/signed-out.html': '<p id="custom-signed-out">Goodbye from {{idpHost}}, come back soon.</p>' },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

/** The page shows the config's branding, ran no injected script, and is saved for people to look at. */
async function check(page: Page, name: string, title: string): Promise<void> {
  assert.equal(await page.title(), `${title} · Acme Access`, name);
  assert.equal(await page.textContent('#brand-title'), 'Acme Access');
  assert.equal(await page.getAttribute('#brand-logo', 'src'), '/acme-logo.svg');
  // Runs in the page, where getComputedStyle is a global.
  const rule = await page.$eval(
    'header.brand',
    (e) => (globalThis as unknown as { getComputedStyle(e: unknown): { borderBottomColor: string } }).getComputedStyle(e).borderBottomColor,
  );
  assert.equal(rule, 'rgb(194, 65, 12)', `${name}: the primary colour`);
  assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined, `${name}: no injected script ran`);
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
  shots.push(name);
}

async function signedIn(email: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(stack.appUrl);
  await signInAtDemoIdp(page, email);
  await page.waitForURL((u) => u.href.startsWith(stack.appUrl), { timeout: 15_000 });
  return { context, page };
}

test('sign-in error, 404 and 502 pages are branded error pages', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${stack.authenticateUrl}/oauth2/callback?code=x&state=y`);
  await check(page, 'sign-in-error', 'Sign-in failed');
  await page.goto(`${stack.appUrl}.vallum/no-such-page`);
  await check(page, 'not-found', 'Not found');
  await page.goto(`http://down.localhost:${stack.port}/`);
  await check(page, 'upstream-down', 'Application unavailable');
  await context.close();
});

test('the 403 with reasons, the user page and the command-line login pages escape user data', async () => {
  const carol = await signedIn('carol@example.com');
  await check(carol.page, 'access-denied', 'Access denied');
  assert.equal(await carol.page.textContent('#user'), 'carol@example.com');
  assert.ok(((await carol.page.textContent('#reasons')) ?? '').length > 0);
  await carol.context.close();

  const { context, page } = await signedIn('mallory@example.com');
  await page.goto(`${stack.appUrl}.vallum/`);
  await check(page, 'user-page', 'Your Vallum session');
  assert.match((await page.textContent('#groups')) ?? '', /<script>window\.pwned=1<\/script>/, 'the group is shown as text');
  await page.goto(`${stack.appUrl}.vallum/api/v1/login?redirect_uri=${encodeURIComponent('http://127.0.0.1:9/')}`);
  await check(page, 'cli-login-confirm', 'Hand a token to a program?');
  assert.equal(await page.textContent('#listener'), '127.0.0.1:9');
  await page.click('#decline');
  await check(page, 'cli-login-declined', 'No token handed out');
  await context.close();
});

test('a cross-site sign-out gets the branded confirmation; signed-out is the custom template from templates_dir', async () => {
  const { context, page } = await signedIn('alice@example.com');
  // Another site (public.localhost is a site of its own) sends the browser to sign out.
  await page.goto(stack.publicUrl);
  await page.evaluate((url) => {
    (globalThis as unknown as { location: { href: string } }).location.href = url;
  }, `${stack.appUrl}.vallum/sign_out`);
  await page.waitForURL((u) => u.pathname === '/.vallum/sign_out', { timeout: 10_000 });
  await check(page, 'sign-out-confirm', 'Sign out?');
  await page.goto(`${stack.authenticateUrl}/.vallum/signed_out`);
  await check(page, 'signed-out', 'You are signed out of Vallum');
  assert.equal(await page.textContent('#custom-signed-out'), `Goodbye from ${new URL(stack.issuer).host}, come back soon.`);
  assert.equal(await page.$('#vallum-status'), null, 'the built-in page is replaced');
  await context.close();
  assert.deepEqual(shots.length, 9);
});

test('an edited template applies after the reload, without a restart', async () => {
  writeFileSync(join(dirname(stack.configFile), 'templates', 'signed-out.html'), '<p id="custom-signed-out">Edited.</p>');
  const deadline = Date.now() + 15_000;
  let text = '';
  while (Date.now() < deadline && !text.includes('Edited.')) {
    text = await getText(`${stack.authenticateUrl}/.vallum/signed_out`);
    if (!text.includes('Edited.')) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.match(text, /<p id="custom-signed-out">Edited\.<\/p>/);
});

/** GET on loopback with the URL's Host (route hosts are *.localhost names Node does not resolve). */
function getText(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: u.port, path: u.pathname, headers: { host: u.host }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}
