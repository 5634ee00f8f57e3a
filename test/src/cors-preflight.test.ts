// A front end calls an API on another host of the same site with `credentials: 'include'` and a custom header, in
// a real Chromium through a real Vallum: the preflight carries no cookie, so only `cors_allow_preflight` lets it on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchBrowser, signInAtDemoIdp } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';

const PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>front end</title></head><body>front end</body></html>';

let stack: Stack;
let browser: Browser;
let upstream: Server;
/** What the API upstream saw: each request's method and whether it carried a cookie or identity. */
const seen: Array<{ method: string; cookie: boolean; email: string | undefined }> = [];

/** The front end (any `web.` host) and a CORS-aware API that lets the front end's origin call it with credentials. */
function answer(req: IncomingMessage, res: import('node:http').ServerResponse): void {
  if (String(req.headers.host).startsWith('web.')) {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    return void res.end(PAGE);
  }
  const email = req.headers['x-vallum-claim-email'];
  seen.push({ method: req.method ?? '', cookie: req.headers.cookie !== undefined, email: typeof email === 'string' ? email : undefined });
  if (typeof req.headers.origin === 'string') {
    res.setHeader('access-control-allow-origin', req.headers.origin);
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('vary', 'origin');
  }
  if (req.method === 'OPTIONS') {
    res.setHeader('access-control-allow-methods', 'GET, PUT');
    res.setHeader('access-control-allow-headers', 'x-custom');
    res.statusCode = 204;
    return void res.end();
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ email, custom: req.headers['x-custom'] ?? null }));
}

before(async () => {
  upstream = createServer(answer);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const to = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  // Same site (corp.localhost), different origins: Vallum's SameSite=Lax cookie goes with a credentialed fetch.
  stack = await startStack({
    mode: 'all-in-one',
    extraRoutes: (port) => `
  - name: web
    from: http://web.corp.localhost:${port}
    to: ${to}
    allow_public_unauthenticated_access: true
    preserve_host_header: true
  - name: api
    from: http://api.corp.localhost:${port}
    to: ${to}
    allow_any_authenticated_user: true
    cors_allow_preflight: true
  - name: api-off
    from: http://api-off.corp.localhost:${port}
    to: ${to}
    allow_any_authenticated_user: true
`,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** A browser context signed in on both API hosts (the IdP once, then Vallum's hand-off). */
async function signedIn(): Promise<BrowserContext> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const api = `http://api.corp.localhost:${stack.port}/`;
  await page.goto(api);
  await signInAtDemoIdp(page, 'alice@example.com');
  await page.waitForURL((u) => u.href.startsWith(api), { timeout: 15_000 });
  const off = `http://api-off.corp.localhost:${stack.port}/`;
  await page.goto(off);
  await page.waitForURL((u) => u.href.startsWith(off), { timeout: 15_000 });
  await page.close();
  return context;
}

/** Runs a credentialed cross-origin fetch with a custom header from the front end's page. */
async function fetchFromFrontEnd(context: BrowserContext, url: string): Promise<{ ok: true; body: unknown } | { ok: false; error: string }> {
  const page = await context.newPage();
  await page.goto(`http://web.corp.localhost:${stack.port}/`);
  const result = await page.evaluate(async (target) => {
    try {
      const res = await fetch(target, { credentials: 'include', headers: { 'x-custom': 'yes' } });
      return { ok: true as const, body: (await res.json()) as unknown };
    } catch (err) {
      return { ok: false as const, error: String(err) };
    }
  }, url);
  await page.close();
  return result;
}

test('cors_allow_preflight: the preflight passes without a cookie, the credentialed call carries the session and works', async () => {
  const context = await signedIn();
  seen.length = 0;
  const result = await fetchFromFrontEnd(context, `http://api.corp.localhost:${stack.port}/items`);
  assert.deepEqual(result, { ok: true, body: { email: 'alice@example.com', custom: 'yes' } });
  const preflight = seen.find((s) => s.method === 'OPTIONS');
  assert.ok(preflight, 'the preflight reached the upstream');
  assert.equal(preflight.cookie, false);
  assert.equal(preflight.email, undefined, 'a preflight gets no identity');
  assert.ok(seen.some((s) => s.method === 'GET' && s.email === 'alice@example.com'));
  await context.close();
});

test('without cors_allow_preflight the preflight is sent to sign in, and the fetch fails', async () => {
  const context = await signedIn();
  seen.length = 0;
  const result = await fetchFromFrontEnd(context, `http://api-off.corp.localhost:${stack.port}/items`);
  assert.equal(result.ok, false);
  assert.deepEqual(seen, [], 'neither the preflight nor the call reached the upstream');
  await context.close();
});
