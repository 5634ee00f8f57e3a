// Rotating cookie_secret and shared_secret signs nobody out: with the old secrets listed as previous ones, a reload
// keeps every session (cookie, hand-off, IdP tokens sealed in Redis), and what is made from then on uses the new
// secrets; once the previous ones are dropped, what only they opened is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { createRedisStore } from '@vallum/cache';
import { createSessionCookieCodec } from '@vallum/session';
import { parse } from 'yaml';
import type { Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser, startIdentityStack, waitUntil } from './identity-helpers.js';

let identity: Awaited<ReturnType<typeof startIdentityStack>>;
let stack: Stack;
let browser: Browser;

before(async () => {
  identity = await startIdentityStack({ mode: 'all-in-one', watch: true });
  ({ stack, browser } = identity);
});
after(async () => {
  await identity?.close();
});

const whoami = (cookie: string) => hostGet(stack, appHost(stack), '/api/whoami', { cookie: `_vallum=${cookie}` });
const jwksKids = async () =>
  (JSON.parse((await hostGet(stack, appHost(stack), '/.well-known/vallum/jwks.json')).text) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);

/** Rewrites vallum.yaml (the watcher reloads it) and waits until `applied` shows the reload took effect. */
async function rewriteConfig(edit: (text: string) => string, what: string, applied: () => Promise<boolean>): Promise<void> {
  writeFileSync(stack.configFile, edit(readFileSync(stack.configFile, 'utf8')));
  await waitUntil(what, applied, 10_000, 100);
}

test('rotating cookie_secret and shared_secret with the old ones as previous keeps sessions; dropping them ends the old cookies', async () => {
  const original = parse(stack.configText) as { shared_secret: string; cookie_secret: string };
  const [oldShared, oldCookie] = [original.shared_secret, original.cookie_secret];
  const [newShared, newCookie] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];

  const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
  const aliceCookie = await alice.cookie();
  assert.equal((await whoami(aliceCookie)).status, 200);
  const kidBefore = await jwksKids();
  assert.equal(kidBefore.length, 1);

  // Step 1: new secrets current, old ones previous. The derived signing key changes with shared_secret: the old
  // one stays published, so two keys.
  await rewriteConfig(
    (text) =>
      `${text
        .replace(`shared_secret: ${oldShared}`, `shared_secret: ${newShared}`)
        .replace(
          `cookie_secret: ${oldCookie}`,
          `cookie_secret: ${newCookie}`,
        )}\nprevious_shared_secrets: ["${oldShared}"]\nprevious_cookie_secrets: ["${oldCookie}"]\n`,
    'the JWKS to publish the new signing key beside the old one',
    async () => (await jwksKids()).length === 2,
  );
  const kidsDuring = await jwksKids();
  assert.ok(kidsDuring.includes(kidBefore[0]!), 'the old signing key is still published');
  const during = await whoami(aliceCookie);
  assert.equal(during.status, 200, 'the session made before the rotation still works (cookie and IdP tokens in Redis)');
  assert.match(during.text, /alice@example\.com/);
  await alice.page.goto(stack.appUrl);
  assert.equal(new URL(alice.page.url()).host, appHost(stack), 'the browser is not sent to sign in again');

  // A sign-in after the rotation: hand-off and cookie under the new secrets only.
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  const bobCookie = await bob.cookie();
  const bobTicket = await createSessionCookieCodec(newCookie).open(bobCookie);
  assert.ok(bobTicket, 'sealed with the new cookie_secret');
  assert.equal(await createSessionCookieCodec(oldCookie).open(bobCookie), null, 'not with the old one');
  // Its IdP tokens in Redis are sealed under the new shared_secret (it keys them here): a store knowing only the new
  // secret opens them.
  const newKeyOnly = createRedisStore(stack.redisUrl!, { tokenSecret: newShared });
  try {
    assert.ok((await newKeyOnly.getSession(bobTicket.sid))?.idToken, 'IdP tokens sealed with the new key');
  } finally {
    await newKeyOnly.close();
  }

  // Step 2: the previous secrets are dropped.
  // The reload is seen when the old cookie is refused (the old signing key stays in the JWKS a while longer: the
  // assertions it signed are still valid for up to five minutes).
  await rewriteConfig(
    (text) => text.replace(/\nprevious_shared_secrets: .*\nprevious_cookie_secrets: .*\n/, '\n'),
    'the old cookie to be refused once the previous secrets are dropped',
    async () => (await whoami(aliceCookie)).status !== 200,
  );
  const refused = await whoami(aliceCookie);
  assert.equal(refused.status, 302, 'a cookie only the dropped secret opens is refused');
  assert.match(String(refused.headers.location), /^http:\/\/authenticate\.localhost:/, 'and sent to sign in');
  assert.equal((await whoami(bobCookie)).status, 200, 'a session made under the new secrets lives on');
  await alice.context.close();
  await bob.context.close();
});
