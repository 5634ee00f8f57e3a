// The response cache never hands one signed-in user's page to another: Vary is evaluated against the headers Vallum
// sends upstream (its identity headers included), and a response to a request carrying identity is kept only when
// the upstream marked it public and it does not vary on who the user is. Two real users through the real proxy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { hostGet, signInWithBrowser } from './identity-helpers.js';
import { startUpstream, type TestUpstream } from './proxy-fixture.js';

let upstream: TestUpstream;
let stack: Stack;
let browser: Browser;
const cookies = new Map<string, string>();
const hits = new Map<string, number>();

const CACHE_CONTROL: Record<string, Record<string, string>> = {
  '/vary-email': { 'cache-control': 'public, max-age=60', vary: 'X-Vallum-Claim-Email' },
  '/vary-assertion': { 'cache-control': 'public, max-age=60', vary: 'Accept, X-Vallum-Jwt-Assertion' },
  '/vary-cookie': { 'cache-control': 'public, max-age=60', vary: 'Cookie' },
  '/not-public': { 'cache-control': 'max-age=60' },
  '/s-maxage': { 'cache-control': 's-maxage=60' },
  '/vary-star': { 'cache-control': 'public, max-age=60', vary: '*' },
  '/shared': { 'cache-control': 'public, max-age=60' },
};

before(async () => {
  upstream = await startUpstream((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    const headers = CACHE_CONTROL[path] ?? { 'cache-control': 'no-store' };
    res.writeHead(200, { 'content-type': 'text/plain', ...headers }).end(`${path} for ${String(req.headers['x-vallum-claim-email'])} #${n}`);
  });
  stack = await startStack({
    mode: 'all-in-one',
    extraRoutes: (port) => `  - name: cached
    from: http://cached.localhost:${port}
    to: ${upstream.url}
    allow_any_authenticated_user: true
    cache: { max_bytes: 1000000 }
`,
  });
  browser = await launchBrowser();
  const url = `http://cached.localhost:${stack.port}/`;
  for (const email of ['alice@example.com', 'bob@example.com']) {
    const signedIn = await signInWithBrowser(browser, stack, email, url);
    cookies.set(email, `_vallum=${await signedIn.cookie()}`);
    await signedIn.context.close();
  }
});

after(async () => {
  await browser?.close();
  await stack?.close();
  await upstream?.close();
});

const getAs = (email: string, path: string, headers: Record<string, string> = {}) =>
  hostGet(stack, `cached.localhost:${stack.port}`, path, { cookie: `${cookies.get(email)!}; theme=dark`, ...headers });

for (const path of ['/vary-email', '/vary-assertion', '/vary-cookie', '/not-public', '/s-maxage', '/vary-star']) {
  test(`regression: bob never gets alice's cached ${path} (${JSON.stringify(CACHE_CONTROL[path])})`, async () => {
    const alice = await getAs('alice@example.com', path);
    assert.equal(alice.status, 200);
    assert.match(alice.text, /for alice@example\.com/);
    const bob = await getAs('bob@example.com', path);
    assert.equal(bob.status, 200);
    assert.match(bob.text, /for bob@example\.com/, `bob got ${bob.text} (x-cache ${String(bob.headers['x-cache'])})`);
    const aliceAgain = await getAs('alice@example.com', path);
    assert.match(aliceAgain.text, /for alice@example\.com/);
    assert.notEqual(aliceAgain.headers['x-cache'], 'HIT', 'a personal response is not stored at all');
  });
}

test('the cache is in use on the route: a public response that does not vary on the user is shared', async () => {
  const alice = await getAs('alice@example.com', '/shared');
  const bob = await getAs('bob@example.com', '/shared');
  assert.equal(bob.headers['x-cache'], 'HIT');
  assert.equal(bob.text, alice.text, 'the upstream declared it the same for everyone');
});
