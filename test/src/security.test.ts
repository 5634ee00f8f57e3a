// Security edges of the walking skeleton against the real stack: identity headers, the JWT, cookies, hand-offs and
// redirect targets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, signInAtDemoIdp } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;

before(async () => {
  stack = await startStack({ mode: 'all-in-one' });
  browser = await launchBrowser();
  context = await browser.newContext();
  page = await context.newPage();
  await page.goto(stack.appUrl);
  await signInAtDemoIdp(page, 'alice@example.com');
  await page.waitForURL((u) => u.href.startsWith(stack.appUrl), { timeout: 15_000 });
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

/** A request to the proxy's loopback port with the Host a browser would send. */
function get(host: string, path: string, headers: Record<string, string> = {}) {
  return request(`${stack.proxyUrl}${path}`, { headers: { host: `${host}:${stack.port}`, ...headers } });
}

async function cookieFor(host: string): Promise<string> {
  const cookies = await context.cookies(`http://${host}:${stack.port}/`);
  const c = cookies.find((x) => x.name === '_vallum');
  assert.ok(c, `no _vallum cookie for ${host}`);
  assert.equal(c.httpOnly, true);
  assert.equal(c.sameSite, 'Lax');
  return c.value;
}

test('the upstream never sees client-supplied identity headers, in any casing or with underscores', async () => {
  const whoami = (await page.evaluate(async () => {
    const res = await fetch('/api/whoami', {
      headers: { 'X-Vallum-Claim-Email': 'mallory@evil.example', x_vallum_claim_email: 'mallory@evil.example', 'X-VALLUM-CLAIM-GROUPS': 'admins' },
    });
    return res.json();
  })) as { headers: Record<string, string> };
  assert.equal(whoami.headers['x-vallum-claim-email'], 'alice@example.com');
  assert.equal(whoami.headers['x_vallum_claim_email'], undefined);
  assert.match(whoami.headers['x-vallum-claim-groups'] ?? '', /admins/);
  assert.ok(!(whoami.headers.cookie ?? '').includes('_vallum='), 'the Vallum session cookie is kept from the app');

  const pub = await get('public.localhost', '/api/whoami', { 'x-vallum-claim-email': 'mallory@evil.example', 'X-Vallum-Jwt-Assertion': 'forged' });
  assert.equal(pub.statusCode, 200);
  const seen = (await pub.body.json()) as { headers: Record<string, string> };
  assert.equal(seen.headers['x-vallum-claim-email'], undefined);
  assert.equal(seen.headers['x-vallum-jwt-assertion'], undefined);
});

test('the JWT the upstream gets verifies against the JWKS, with the route host as audience', async () => {
  const whoami = (await page.evaluate(async () => (await fetch('/api/whoami')).json())) as { headers: Record<string, string> };
  const jwt = whoami.headers['x-vallum-jwt-assertion'];
  assert.ok(jwt);
  const jwks = createRemoteJWKSet(new URL(`${stack.proxyUrl}/.well-known/vallum/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(jwt, jwks, { audience: `app.localhost:${stack.port}`, algorithms: ['ES256'] });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(payload.email, 'alice@example.com');
  assert.ok(Array.isArray(payload.groups));
  assert.ok(payload.sub && payload.iat && payload.exp && payload.iss);
  await assert.rejects(jwtVerify(jwt, jwks, { audience: `admin.localhost:${stack.port}` }));
});

test('a valid session cookie gets access; a tampered one is redirected to sign-in', async () => {
  const value = await cookieFor('app.localhost');
  const ok = await get('app.localhost', '/api/whoami', { cookie: `_vallum=${value}` });
  assert.equal(ok.statusCode, 200);
  await ok.body.dump();

  const i = Math.floor(value.length / 2);
  const tampered = value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1);
  const res = await get('app.localhost', '/api/whoami', { cookie: `_vallum=${tampered}` });
  await res.body.dump();
  assert.equal(res.statusCode, 302);
  assert.ok(String(res.headers.location).startsWith(`${stack.authenticateUrl}/.vallum/sign_in?redirect_uri=`));

  // The cookie is host-only: the browser holds it for app.localhost and sends it to no other route host, so
  // admin.localhost needs its own hand-off.
  const domains = (await context.cookies()).filter((c) => c.name === '_vallum').map((c) => c.domain);
  assert.ok(domains.includes('app.localhost'));
  assert.ok(
    domains.every((d) => !d.startsWith('.') && d.endsWith('.localhost')),
    `host-only cookies only: ${domains.join(', ')}`,
  );
  assert.equal((await context.cookies(`http://admin.localhost:${stack.port}/`)).filter((c) => c.name === '_vallum').length, 0);
});

test('sign-in refuses a redirect_uri outside the configured routes', async () => {
  for (const target of ['https://evil.example/', `http://app.localhost:${stack.port}.evil.example/`, '//evil.example/', 'javascript:alert(1)']) {
    const res = await request(`${stack.proxyUrl}/.vallum/sign_in?redirect_uri=${encodeURIComponent(target)}`, {
      headers: { host: `authenticate.localhost:${stack.port}` },
    });
    const body = await res.body.text();
    assert.equal(res.statusCode, 400, target);
    assert.equal(res.headers.location, undefined);
    assert.match(body, /does not protect/);
  }
});

test('a sign-in hand-off works once and only for the host it was made for', async () => {
  const authCookies = await context.cookies(`http://authenticate.localhost:${stack.port}/`);
  const auth = authCookies.find((c) => c.name === '_vallum');
  assert.ok(auth);
  const target = `http://app.localhost:${stack.port}/somewhere?x=1`;
  const start = await request(`${stack.proxyUrl}/.vallum/sign_in?redirect_uri=${encodeURIComponent(target)}`, {
    headers: { host: `authenticate.localhost:${stack.port}`, cookie: `_vallum=${auth.value}` },
  });
  await start.body.dump();
  assert.equal(start.statusCode, 302);
  const handoff = new URL(String(start.headers.location));
  assert.equal(handoff.origin, `http://app.localhost:${stack.port}`);

  const elsewhere = await get('admin.localhost', `${handoff.pathname}${handoff.search}`);
  await elsewhere.body.dump();
  assert.equal(elsewhere.statusCode, 400, 'a hand-off for app must not sign in admin');

  const first = await get('app.localhost', `${handoff.pathname}${handoff.search}`);
  await first.body.dump();
  assert.equal(first.statusCode, 302);
  assert.equal(first.headers.location, target);
  assert.match(String(first.headers['set-cookie']), /_vallum=.*HttpOnly.*SameSite=Lax/i);

  const replay = await get('app.localhost', `${handoff.pathname}${handoff.search}`);
  await replay.body.dump();
  assert.equal(replay.statusCode, 400);
});

test('an unknown host gets a 404 page, never the first route', async () => {
  const res = await get('unknown.localhost', '/api/whoami');
  const body = await res.body.text();
  assert.equal(res.statusCode, 404);
  assert.match(body, /No route is configured/);
});

test('the JWKS is served on every route host', async () => {
  const res = await get('app.localhost', '/.well-known/vallum/jwks.json');
  const jwks = (await res.body.json()) as { keys: Array<{ kty: string; crv: string; kid: string; d?: string }> };
  assert.equal(jwks.keys[0]?.crv, 'P-256');
  assert.ok(jwks.keys[0]?.kid);
  assert.equal(jwks.keys[0]?.d, undefined, 'never the private key');
});
