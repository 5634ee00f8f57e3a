// Helpers of the identity tests: a browser signed in through the real IdP, requests to a proxy port with the Host a
// browser would send, and bounded waits.
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createRedisStore, type SessionStore } from '@vallum/cache';
import { launchBrowser, signInAtDemoIdp } from '@vallum/testing';
import { startStack, type Stack, type StackOptions } from './harness.js';

export interface SignedIn {
  context: BrowserContext;
  page: Page;
  /** The `_vallum` cookie the browser holds for a host (default the app host). */
  cookie(host?: string): Promise<string>;
}

export async function signInWithBrowser(browser: Browser, stack: Pick<Stack, 'appUrl'>, email: string, url = stack.appUrl): Promise<SignedIn> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await signInAtDemoIdp(page, email);
  await page.waitForURL((u) => u.href.startsWith(url), { timeout: 15_000 });
  return {
    context,
    page,
    async cookie(host = new URL(url).host) {
      const found = (await context.cookies(`http://${host}/`)).find((c) => c.name === '_vallum');
      assert.ok(found, `no _vallum cookie for ${host}`);
      return found.value;
    },
  };
}

/** GET on a proxy port (default the stack's) as if for `host` (e.g. `app.localhost:PORT`). */
export async function hostGet(stack: Pick<Stack, 'port'>, host: string, path: string, headers: Record<string, string> = {}, port = stack.port) {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { host, ...headers } });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

/** POSTs a logout token to authenticate's back-channel logout endpoint, as an IdP does. */
export async function postLogoutToken(stack: Pick<Stack, 'authenticateUrl'>, token: string): Promise<{ status: number; text: string }> {
  const target = new URL('/.vallum/backchannel_logout', stack.authenticateUrl);
  const res = await request(`http://127.0.0.1:${target.port}${target.pathname}`, {
    method: 'POST',
    headers: { host: target.host, 'content-type': 'application/x-www-form-urlencoded' },
    body: `logout_token=${token}`,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Polls `check` every `stepMs` until it is true; returns the milliseconds it took, or fails after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const appHost = (stack: Stack) => `app.localhost:${stack.port}`;

/** A stack with Redis, a browser and a direct handle on the session store; `close` ends all three. */
export async function startIdentityStack(
  options: Omit<StackOptions, 'redis'>,
): Promise<{ stack: Stack; browser: Browser; store: SessionStore; close(): Promise<void> }> {
  // Chromium starts while the stack does; whichever of the two started is closed if the other failed.
  const [stackStart, browserStart] = await Promise.allSettled([startStack({ ...options, redis: true }), launchBrowser()]);
  if (stackStart.status === 'rejected' || browserStart.status === 'rejected') {
    if (stackStart.status === 'fulfilled') await stackStart.value.close();
    if (browserStart.status === 'fulfilled') await browserStart.value.close();
    throw stackStart.status === 'rejected' ? stackStart.reason : (browserStart as PromiseRejectedResult).reason;
  }
  const stack = stackStart.value;
  const browser = browserStart.value;
  const store = createRedisStore(stack.redisUrl!, { tokenSecret: stack.tokenSecret });
  return {
    stack,
    browser,
    store,
    async close() {
      await store.close();
      await browser.close();
      await stack.close();
    },
  };
}
