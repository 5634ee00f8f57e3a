// Identity headers end to end: deployment-chosen claim headers, client copies removed in any casing and with `_`,
// the assertion's kid in the JWKS of every route host, and the cost of a warm request: no cookie decryption, no
// cache read, no signature.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser, type SignedIn } from './identity-helpers.js';

let stack: Stack;
let browser: Browser;
let alice: SignedIn;

before(async () => {
  stack = await startStack({
    mode: 'all-in-one',
    redis: true,
    configExtra: ({ port, appUrl }) => `  - name: mixed-public
    from: http://mixed.localhost:${port}
    to: ${appUrl}
    prefix: /public
    allow_public_unauthenticated_access: true
  - name: mixed
    from: http://mixed.localhost:${port}
    to: ${appUrl}
    allow_any_authenticated_user: true
jwt_claims_headers:
  X-Email: email
  X-User-Groups: groups
`,
  });
  browser = await launchBrowser();
  alice = await signInWithBrowser(browser, stack, 'alice@example.com');
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

const seenHeaders = async (host: string, headers: Record<string, string>) => {
  const res = await hostGet(stack, host, '/api/whoami', headers);
  assert.equal(res.status, 200);
  return (JSON.parse(res.text) as { headers: Record<string, string> }).headers;
};

test('claim headers reach the upstream; client copies never do, in any casing or with _ for -', async () => {
  const forged = { 'X-EMAIL': 'mallory@evil.example', x_email: 'mallory@evil.example', X_User_Groups: 'admins', x_vallum_claim_email: 'm@e' };
  const seen = await seenHeaders(appHost(stack), { cookie: `_vallum=${await alice.cookie()}`, ...forged });
  assert.equal(seen['x-email'], 'alice@example.com');
  assert.equal(seen['x-user-groups'], 'admins,engineering');
  assert.equal(seen['x_email'], undefined);
  assert.equal(seen['x_user_groups'], undefined);
  assert.equal(seen['x_vallum_claim_email'], undefined);
  const pub = await seenHeaders(`public.localhost:${stack.port}`, forged);
  for (const name of ['x-email', 'x_email', 'x_user_groups', 'x-user-groups']) assert.equal(pub[name], undefined, name);
});

test('the assertion names its key, and that key is in the JWKS of every route host', async () => {
  const seen = await seenHeaders(appHost(stack), { cookie: `_vallum=${await alice.cookie()}` });
  const jwt = seen['x-vallum-jwt-assertion']!;
  const { kid } = decodeProtectedHeader(jwt);
  assert.ok(kid);
  for (const host of ['app', 'admin', 'public']) {
    const res = await hostGet(stack, `${host}.localhost:${stack.port}`, '/.well-known/vallum/jwks.json');
    assert.ok(
      (JSON.parse(res.text) as { keys: Array<{ kid: string }> }).keys.some((k) => k.kid === kid),
      host,
    );
  }
  const jwks = createRemoteJWKSet(new URL(`${stack.proxyUrl}/.well-known/vallum/jwks.json`));
  await jwtVerify(jwt, jwks, { audience: appHost(stack), algorithms: ['ES256'] });
});

test('a warm session costs no cookie decryption, no cache read and no signature per request', async () => {
  const cookie = `_vallum=${await alice.cookie()}`;
  await seenHeaders(appHost(stack), { cookie });
  const hotPathCounters = stack.counters!;
  const before = { ...hotPathCounters };
  for (let i = 0; i < 50; i++) await seenHeaders(appHost(stack), { cookie });
  assert.deepEqual(hotPathCounters, before);
  // The counters do count: a new route host means a new cookie to open and a new audience to sign for.
  await alice.page.goto(stack.adminUrl);
  await alice.page.waitForURL((u) => u.href.startsWith(stack.adminUrl), { timeout: 15_000 });
  assert.ok(hotPathCounters.cookieDecrypts > before.cookieDecrypts);
  assert.ok(hotPathCounters.assertionSigns > before.assertionSigns);
});

test('a public prefix is not reachable through a query string, a fragment or dot segments', async () => {
  // node:http sends the request target exactly as written, fragment included, as an attacker's client would.
  const raw = (target: string) =>
    new Promise<number>((resolve, reject) => {
      get({ host: '127.0.0.1', port: stack.port, path: target, headers: { host: `mixed.localhost:${stack.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
  assert.equal(await raw('/public/page'), 200);
  for (const target of ['/secret?/public', '/secret?x=/public/', '/secret#/public', '/public/../secret', '/public/%2e%2e/secret', '/secret;/public']) {
    const status = await raw(target);
    assert.ok(status === 302 || status === 400, `${target} answered ${status}`);
  }
});
