// Token refresh by the cache service against the real oidc-provider with 4-second access tokens and a 1-second
// refresh interval: tokens renewed before they expire, new claims reach the upstream, a user deleted at the IdP
// loses access within one refresh, and an IdP that is down does not sign anybody out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { SessionStore } from '@vallum/cache';
import type { Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser, startIdentityStack, waitUntil } from './identity-helpers.js';

const TOKEN_TTL_S = 4;
const INTERVAL_MS = 1000;
let stack: Stack;
let browser: Browser;
let store: SessionStore;
let identity: Awaited<ReturnType<typeof startIdentityStack>>;

before(async () => {
  identity = await startIdentityStack({ mode: 'all-in-one', idp: { accessTokenTtlSeconds: TOKEN_TTL_S }, configExtra: 'token_refresh_interval: 1s\n' });
  ({ stack, browser, store } = identity);
});

after(async () => {
  await identity?.close();
});

const sessionOf = async (sub: string) => (await store.findSessions({ sub }))[0];
const whoami = async (cookie: string) => hostGet(stack, appHost(stack), '/api/whoami', { cookie: `_vallum=${cookie}` });

test('tokens are refreshed before they expire, and changed groups reach the upstream', async () => {
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  const cookie = await bob.cookie();
  const first = await sessionOf('bob');
  assert.ok(first?.refreshToken && first.tokenExpiresAt, 'the session keeps a refresh token and the token expiry');
  stack.idp.setGroups('bob', ['engineering', 'qa']);
  let seenAt = 0;
  await waitUntil(
    'a refreshed access token',
    async () => {
      const s = await sessionOf('bob');
      seenAt = Date.now();
      return s !== undefined && s.accessToken !== first.accessToken;
    },
    TOKEN_TTL_S * 1000 + 2 * INTERVAL_MS,
    100,
  );
  assert.ok(seenAt < first.tokenExpiresAt, 'the refresh happened before the old token expired');
  const refreshed = (await sessionOf('bob'))!;
  assert.ok(refreshed.tokenExpiresAt! > first.tokenExpiresAt);
  assert.deepEqual(refreshed.groups, ['engineering', 'qa']);
  assert.equal(refreshed.id, first.id, 'the session id stays; only tokens and claims change');
  const seen = await whoami(cookie);
  assert.equal(seen.status, 200);
  assert.match((JSON.parse(seen.text) as { headers: Record<string, string> }).headers['x-vallum-claim-groups'] ?? '', /qa/);
  await bob.context.close();
});

test('a user deleted at the IdP loses access within one refresh, without signing out', async () => {
  const again = await signInWithBrowser(browser, stack, 'bob@example.com');
  const cookie = await again.cookie();
  assert.equal((await whoami(cookie)).status, 200);
  stack.idp.removeUser('bob');
  // A request in flight at the moment the session ends may be cut off by the revocation watch: poll again.
  const status = () =>
    whoami(cookie).then(
      (r) => r.status,
      () => 0,
    );
  const took = await waitUntil('access ends', async () => (await status()) === 302, TOKEN_TTL_S * 1000 + 3 * INTERVAL_MS, 100);
  assert.ok(took <= TOKEN_TTL_S * 1000 + 3 * INTERVAL_MS);
  // Every session of the deleted user ends at its next refresh (the first test's one included).
  await waitUntil('all sessions of the deleted user end', async () => (await sessionOf('bob')) === undefined, TOKEN_TTL_S * 1000 + 3 * INTERVAL_MS, 100);
  await again.context.close();
});

test('while the IdP is down, sessions keep working past their token expiry', async () => {
  const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
  const cookie = await alice.cookie();
  const before = (await sessionOf('alice'))!;
  await stack.idp.close();
  await new Promise((r) => setTimeout(r, before.tokenExpiresAt! - Date.now() + 2 * INTERVAL_MS));
  assert.equal((await whoami(cookie)).status, 200);
  const after = (await sessionOf('alice'))!;
  assert.equal(after.accessToken, before.accessToken, 'no refresh succeeded, and none ended the session');
  await alice.context.close();
});
