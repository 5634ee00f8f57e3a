// Memory that hostile input cannot grow: without Redis, the session store keeps at most cache.memory_max_sessions;
// a flood of sign-ins ends the oldest sessions (and the proxy stops honouring their cookies at once) instead of
// growing the process, and each eviction is logged and counted. All-in-one, and split (the cache service's store,
// a proxy in another process).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchBrowser, scrapeValue } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser, waitUntil } from './identity-helpers.js';

// One Chromium for every configuration below: each sign-in has a browser context of its own.
let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

for (const mode of ['all-in-one', 'split'] as const) {
  describe(`the in-memory session store is bounded (${mode})`, () => {
    let stack: Stack;

    before(async () => {
      stack = await startStack({ mode, metrics: true, configExtra: 'cache:\n  memory_max_sessions: 1\n' });
    });

    after(async () => {
      await stack?.close();
    });

    test('regression: past memory_max_sessions the oldest session is evicted, logged and counted, and its cookie stops working at once', async () => {
      const metricsUrl = stack.metricsUrls[mode === 'split' ? 'cache' : 'all']!;
      const evictions = () => scrapeValue(metricsUrl, 'vallum_session_store_evictions_total');
      const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
      const aliceCookie = `_vallum=${await alice.cookie()}`;
      assert.equal((await hostGet(stack, appHost(stack), '/', { cookie: aliceCookie })).status, 200, 'alice is signed in');
      assert.equal(await evictions(), 0);
      const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
      const bobCookie = `_vallum=${await bob.cookie()}`;
      assert.equal((await hostGet(stack, appHost(stack), '/', { cookie: bobCookie })).status, 200, 'bob is signed in');
      const evicted = await hostGet(stack, appHost(stack), '/', { cookie: aliceCookie });
      assert.equal(evicted.status, 302, "alice's session was the oldest: it was ended to make room");
      assert.match(String(evicted.headers.location), /sign_in/);
      assert.equal(await evictions(), 1, 'the eviction is counted');
      if (mode === 'split') {
        // Split processes keep their output; the in-process all-in-one stack runs without a logger.
        await waitUntil('the eviction is logged', async () => /the in-memory session store is full/.test(stack.logs()), 2000);
      }
      await alice.context.close();
      await bob.context.close();
    });
  });
}
