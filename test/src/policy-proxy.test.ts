// Policies through the real proxy (all-in-one, real IdP, Chromium): path-normalisation bypass attempts against a
// deny on /admin, request headers and the client address reaching the policy, and the reasons on the 403 page —
// helpful, but never the allow list or the network ranges.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchBrowser, signInAtDemoIdp } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';

const APP_POLICY = `
    policy:
      allow:
        and:
          - domain: example.com
          - source_ip: [127.0.0.0/8, "::1/128"]
      deny:
        or:
          - http_path: { starts_with: /admin, ignore_case: true }
          - header/x-block-me: { present: true }
`;
const ADMIN_POLICY = `
    policy:
      allow:
        or:
          - email: { in: [boss@example.com] }
          - source_ip: [10.99.0.0/16]
`;

let stack: Stack;
let browser: Browser;
const contexts = new Map<string, BrowserContext>();

before(async () => {
  stack = await startStack({
    mode: 'all-in-one',
    editConfig: (text) =>
      text
        .replace(/( {2}- name: app\n.*\n.*\n) {4}policy:\n(?: {6}.*\n)+/, `$1${APP_POLICY.slice(1)}`)
        .replace(/( {2}- name: admin\n.*\n.*\n) {4}policy:\n(?: {6}.*\n)+/, `$1${ADMIN_POLICY.slice(1)}`),
  });
  browser = await launchBrowser();
  for (const email of ['alice@example.com', 'bob@example.com']) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(stack.appUrl);
    await signInAtDemoIdp(page, email);
    await page.waitForURL((u) => u.href.startsWith(stack.appUrl), { timeout: 15_000 });
    await page.close();
    contexts.set(email, context);
  }
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

async function cookieOf(email: string): Promise<string> {
  const found = (await contexts.get(email)!.cookies(stack.appUrl)).find((c) => c.name === '_vallum');
  assert.ok(found);
  return `_vallum=${found.value}`;
}

/** The raw request target goes on the wire exactly as written (no client-side URL normalisation). */
function raw(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: stack.port, path, headers: { host: `app.localhost:${stack.port}`, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the test policies are the ones in force: alice, an admin under the demo policy, is refused on admin.localhost', async () => {
  const cookie = await cookieOf('alice@example.com');
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: stack.port, path: '/', headers: { host: `admin.localhost:${stack.port}`, cookie } }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (body += d));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(res.status, 403);
  assert.match(res.body, /email-unauthorized/);
});

test('a deny on /admin holds against every spelling of /admin', async () => {
  const cookie = await cookieOf('alice@example.com');
  assert.equal((await raw('/', { cookie })).status, 200, 'alice may use the app (domain and loopback source_ip)');
  assert.equal((await raw('/docs', { cookie })).status, 200);
  for (const path of [
    '/admin',
    '/ADMIN',
    '/Admin/users',
    '//admin',
    '/./admin',
    '/x/../admin',
    '/%61dmin',
    '/admin%2f',
    '/admin%2Fx',
    '/admin;x',
    '/%2e/admin',
    '/x/%2e%2e/admin',
  ]) {
    const res = await raw(path, { cookie });
    assert.equal(res.status, 403, path);
    assert.match(res.body, /denied: path under \/admin is not allowed/, path);
  }
});

test('request headers reach header/<name> criteria through the proxy', async () => {
  const cookie = await cookieOf('alice@example.com');
  const res = await raw('/', { cookie, 'x-block-me': '1' });
  assert.equal(res.status, 403);
  assert.match(res.body, /denied: header x-block-me/);
});

test('the 403 page in Chromium lists helpful reasons without the allow list or the network ranges', async () => {
  const page = await contexts.get('bob@example.com')!.newPage();
  await page.goto(stack.adminUrl);
  await page.waitForURL((u) => u.href.startsWith(stack.adminUrl), { timeout: 15_000 });
  assert.equal(await page.title(), 'Access denied · Vallum');
  assert.equal(await page.textContent('#user'), 'bob@example.com');
  const reasons = await page.$$eval('#reasons li', (items) => items.map((li) => `${li.getAttribute('data-code')}: ${li.textContent}`));
  assert.deepEqual(reasons, [
    'email-unauthorized: requires an allowed email address',
    'source-ip-unauthorized: requires access from an allowed network',
    'no-rule-matched: no allow rule matched',
  ]);
  const html = await page.content();
  assert.doesNotMatch(html, /boss@example\.com|10\.99/);

  await page.goto(`${stack.appUrl}admin`);
  assert.deepEqual(await page.$$eval('#reasons li', (items) => items.map((li) => li.textContent)), ['denied: path under /admin is not allowed']);
  await page.close();
});
