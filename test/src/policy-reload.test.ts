// Hot reload of a named policy file, all-in-one and split (where the proxy and the authorize service are separate
// processes that each watch the files their config loaded). A change applies to new requests within a second; a broken file keeps
// the policy in force.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { request } from 'undici';
import type { Browser } from 'playwright-core';
import { launchBrowser, signInAtDemoIdp } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';

const ADMINS = 'allow:\n  or:\n    - groups: { has: admins }\n';
const FINANCE = 'allow:\n  or:\n    - groups: { has: finance }\n';

// One Chromium for every configuration below: each sign-in has a browser context of its own.
let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

for (const mode of ['all-in-one', 'split'] as const) {
  describe(`policy hot reload, ${mode}`, () => {
    let stack: Stack;
    let cookie: string;

    before(async () => {
      stack = await startStack({
        mode,
        watch: true,
        editConfig: (text) =>
          text
            .replace('routes:\n', 'policy_dir: policies\nroutes:\n')
            .replace(/( {2}- name: app\n.*\n.*\n) {4}policy:\n( {8}.*\n| {6}.*\n)*/, '$1    policy: { use: app-access }\n'),
        files: { 'policies/app-access.yaml': ADMINS },
      });
      const page = await (await browser.newContext()).newPage();
      await page.goto(stack.appUrl);
      await signInAtDemoIdp(page, 'alice@example.com');
      await page.waitForURL((u) => u.href.startsWith(stack.appUrl), { timeout: 15_000 });
      const found = (await page.context().cookies(stack.appUrl)).find((c) => c.name === '_vallum');
      assert.ok(found);
      cookie = found.value;
    });

    after(async () => {
      await stack?.close();
    });

    async function status(): Promise<{ code: number; body: string }> {
      const res = await request(`${stack.proxyUrl}/`, { headers: { host: `app.localhost:${stack.port}`, cookie: `_vallum=${cookie}` } });
      return { code: res.statusCode, body: await res.body.text() };
    }

    async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
      const start = Date.now();
      while (!(await check())) {
        if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return Date.now() - start;
    }

    test('the config really uses the named policy', () => {
      assert.match(stack.configText, /policy: \{ use: app-access \}\n {2}- name: admin/);
    });

    test(`${mode}: a changed named policy applies within a second; a broken one keeps the policy in force`, async () => {
      const file = join(dirname(stack.configFile), 'policies', 'app-access.yaml');
      assert.equal((await status()).code, 200, 'alice is an admin');

      writeFileSync(file, FINANCE);
      // A request in flight when the new policy arrives may be cut off (open connections obey the policy in force):
      // that counts as "not yet", the next poll sees the answer.
      const took = await within(1000, async () => (await status().catch(() => ({ code: 0, body: '' }))).code === 403);
      assert.ok(took <= 1000, `took ${took} ms`);
      assert.match((await status()).body, /requires group finance/);

      writeFileSync(file, 'allow:\n  or:\n    - grops: { has: admins }\n');
      await new Promise((r) => setTimeout(r, 1000));
      const kept = await status();
      assert.equal(kept.code, 403, 'the broken file did not replace the finance policy');
      assert.match(kept.body, /requires group finance/);

      writeFileSync(file, ADMINS);
      await within(1000, async () => (await status()).code === 200);
    });
  });
}
