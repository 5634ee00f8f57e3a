// Memory that hostile input cannot grow: without Redis, the session store keeps at most cache.memory_max_sessions;
// a flood of sign-ins ends the oldest sessions (and the proxy stops honouring their cookies at once) instead of
// growing the process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser } from './identity-helpers.js';

let stack: Stack;
let browser: Browser;

before(async () => {
  stack = await startStack({ mode: 'all-in-one', configExtra: 'cache:\n  memory_max_sessions: 1\n' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

test('regression: past memory_max_sessions the oldest session is evicted and its cookie stops working at once', async () => {
  const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
  const aliceCookie = `_vallum=${await alice.cookie()}`;
  assert.equal((await hostGet(stack, appHost(stack), '/', { cookie: aliceCookie })).status, 200, 'alice is signed in');
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  const bobCookie = `_vallum=${await bob.cookie()}`;
  assert.equal((await hostGet(stack, appHost(stack), '/', { cookie: bobCookie })).status, 200, 'bob is signed in');
  const evicted = await hostGet(stack, appHost(stack), '/', { cookie: aliceCookie });
  assert.equal(evicted.status, 302, "alice's session was the oldest: it was ended to make room");
  assert.match(String(evicted.headers.location), /sign_in/);
  await alice.context.close();
  await bob.context.close();
});
