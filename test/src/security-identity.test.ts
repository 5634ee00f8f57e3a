// Identity edges through the real stack (oidc-provider, Redis, the demo app): emails with two `@`, domain case,
// back-channel logout token claims and replay, repeated OAuth parameters on the callback, refused WebSocket
// upgrades, planted session cookies, and a user removed at the IdP while access tokens still live for an hour.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import type { SessionStore } from '@vallum/cache';
import { DEMO_PASSWORD, DEMO_USERS, signInAtDemoIdp, type DemoUser } from '@vallum/testing';
import type { Stack } from './harness.js';
import { appHost, hostGet, postLogoutToken, signInWithBrowser, startIdentityStack, waitUntil } from './identity-helpers.js';
import { startUpstream, type TestUpstream } from './proxy-fixture.js';

const INTERVAL_MS = 1000;
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const user = (sub: string, email: string, groups: string[]): DemoUser => ({ sub, email, name: sub, password: DEMO_PASSWORD, groups });
const USERS: DemoUser[] = [
  ...DEMO_USERS,
  user('mallory', 'mallory@evil.example@example.com', ['engineering']),
  user('dave', 'Dave@EXAMPLE.com', []),
  user('eve', 'eve@example.com.evil', []),
  user('frank', 'frank@example.com', ['engineering']),
  user('grace', 'grace@example.com', ['engineering']),
  user('heidi', 'heidi@example.com', ['engineering']),
  user('ivan', 'ivan@example.com', ['engineering']),
];

let stack: Stack;
let browser: Browser;
let store: SessionStore;
let identity: Awaited<ReturnType<typeof startIdentityStack>>;
let upstream: TestUpstream;
const upstreamSeen: string[] = [];

before(async () => {
  upstream = await startUpstream((req, res) => {
    upstreamSeen.push(`${req.method} ${req.url}`);
    res.end('ws app');
  });
  upstream.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    upstreamSeen.push(`UPGRADE ${req.url}`);
    socket.destroy();
  });
  identity = await startIdentityStack({
    mode: 'all-in-one',
    idp: { accessTokenTtlSeconds: 3600, users: USERS },
    extraRoutes: (port) => `  - name: domain
    from: http://domain.localhost:${port}
    to: ${upstream.url}
    policy:
      allow:
        or:
          - domain: { is: example.com }
  - name: ws
    from: http://ws.localhost:${port}
    to: ${upstream.url}
    allow_websockets: true
    policy:
      allow:
        or:
          - groups: { has: admins }
`,
    configExtra: `token_refresh_interval: ${INTERVAL_MS / 1000}s\n`,
  });
  ({ stack, browser, store } = identity);
});

after(async () => {
  await identity?.close();
  await upstream?.close();
});

const sessionsOf = (sub: string) => store.findSessions({ sub });
const whoami = (cookie: string) =>
  hostGet(stack, appHost(stack), '/api/whoami', { cookie: `_vallum=${cookie}` }).then(
    (r) => r.status,
    () => 0,
  );

/** Starts a sign-in at `url` and stops at the IdP's login form, with Chromium's email-field check turned off. */
async function openLogin(url: string): Promise<{ page: Page; close(): Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.locator('form#login').waitFor({ state: 'visible', timeout: 15_000 });
  await page.locator('form#login').evaluate((form) => form.setAttribute('novalidate', ''));
  return { page, close: () => context.close() };
}

test('an email with more than one @ refuses sign-in with a clear page and creates no session', async () => {
  const { page, close } = await openLogin(stack.appUrl);
  const callback = page.waitForResponse((r) => new URL(r.url()).pathname === '/oauth2/callback', { timeout: 15_000 });
  await signInAtDemoIdp(page, 'mallory@evil.example@example.com');
  const answer = await callback;
  assert.equal(answer.status(), 403);
  assert.match(await page.content(), /exactly one @/);
  assert.deepEqual(await sessionsOf('mallory'), [], 'no session for an identity with an ambiguous email');
  await close();

  // The same identity as an IdP-signed bearer token: refused too, where a well-formed email is let in.
  const bearer = async (email: string) => {
    const now = Math.floor(Date.now() / 1000);
    const token = await stack.idp.signJwt({ iss: stack.issuer, aud: 'vallum-demo', sub: 'mallory', email, groups: ['engineering'], iat: now, exp: now + 300 });
    const res = await hostGet(stack, appHost(stack), '/api/whoami', { authorization: `Bearer ${token}`, accept: 'application/json' });
    return res.status;
  };
  assert.equal(await bearer('mallory@example.com'), 200);
  assert.equal(await bearer('mallory@evil.example@example.com'), 401);
});

test('domain comparisons ignore case, and a longer domain that merely starts the same does not match (CVE-2026-40574)', async () => {
  const domainUrl = `http://domain.localhost:${stack.port}/`;
  const dave = await signInWithBrowser(browser, stack, 'Dave@EXAMPLE.com', domainUrl);
  const daveSeen = await hostGet(stack, `domain.localhost:${stack.port}`, '/', { cookie: `_vallum=${await dave.cookie()}` });
  assert.equal(daveSeen.status, 200, 'Dave@EXAMPLE.com matches domain: example.com');
  // Route hosts too: the Host header's case picks the same route and policy; a longer host is another host.
  const daveCookie = { cookie: `_vallum=${await dave.cookie()}` };
  assert.equal((await hostGet(stack, `DOMAIN.LocalHost:${stack.port}`, '/', daveCookie)).status, 200);
  assert.equal((await hostGet(stack, `domain.localhost.evil:${stack.port}`, '/', daveCookie)).status, 404);
  const eve = await signInWithBrowser(browser, stack, 'eve@example.com.evil', domainUrl);
  const eveSeen = await hostGet(stack, `domain.localhost:${stack.port}`, '/', { cookie: `_vallum=${await eve.cookie()}` });
  assert.equal(eveSeen.status, 403, 'example.com.evil is not example.com');
  await dave.context.close();
  await eve.context.close();
});

test('back-channel logout tokens need jti, iat and the logout event object, never a nonce; a replayed jti is refused', async () => {
  const frank = await signInWithBrowser(browser, stack, 'frank@example.com');
  const cookie = await frank.cookie();
  assert.equal(await whoami(cookie), 200);
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: stack.issuer,
    aud: 'vallum-demo',
    sub: 'frank',
    iat: now(),
    jti: randomBytes(8).toString('hex'),
    events: { [LOGOUT_EVENT]: {} },
    ...extra,
  });
  const without = (name: string) => {
    const c: Record<string, unknown> = claims();
    delete c[name];
    return c;
  };
  const post = async (payload: Record<string, unknown>) => {
    const token = await stack.idp.signJwt(payload, 'logout+jwt');
    return logoutPost(token);
  };
  const refused: Array<[string, Record<string, unknown>]> = [
    ['no jti', without('jti')],
    ['no iat', without('iat')],
    ['no events', without('events')],
    ['a jti that is not a string', claims({ jti: 42 })],
    ['an event that is not an object', claims({ events: { [LOGOUT_EVENT]: 'logout' } })],
    ['events as a list', claims({ events: [LOGOUT_EVENT] })],
    ['a nonce', claims({ nonce: 'n-1' })],
  ];
  for (const [what, payload] of refused) assert.equal((await post(payload)).status, 400, `a logout token with ${what} is refused`);
  assert.equal(await whoami(cookie), 200, 'no refused token ended the session');

  const valid = claims();
  const token = await stack.idp.signJwt(valid, 'logout+jwt');
  assert.equal((await logoutPost(token)).status, 200);
  await waitUntil('the session ends', async () => (await whoami(cookie)) === 302, 2000, 20);

  // The same token again, or the same jti in a new token, against a new session of the same user: refused, no effect.
  const again = await signInWithBrowser(browser, stack, 'frank@example.com');
  const second = await again.cookie();
  assert.equal((await logoutPost(token)).status, 400);
  assert.equal((await post(claims({ jti: valid.jti }))).status, 400);
  assert.equal(await whoami(second), 200, 'a replayed logout token revokes nothing');
  await frank.context.close();
  await again.context.close();
});

test('repeated code or state on the IdP callback is answered 400 and creates no session', async () => {
  for (const repeat of ['code', 'state', undefined] as const) {
    const { page, close } = await openLogin(stack.appUrl);
    const callback = await callbackOf(page, 'heidi@example.com');
    if (repeat === undefined) {
      // The same flow without a repeated parameter signs in: the refusals above were for the repetition alone.
      const answer = await page.goto(callback.href);
      assert.equal(answer?.status(), 200);
      assert.equal((await sessionsOf('heidi')).length, 1);
      await close();
      continue;
    }
    const real = callback.searchParams.get(repeat)!;
    // Whichever copy a parser would pick, the request is refused.
    callback.searchParams.delete(repeat);
    callback.searchParams.append(repeat, repeat === 'code' ? 'attacker-code' : real);
    callback.searchParams.append(repeat, real);
    const answer = await page.goto(callback.href);
    assert.equal(answer?.status(), 400, `two ${repeat} parameters`);
    assert.match(await page.content(), new RegExp(`named (&quot;|")${repeat}(&quot;|") more than once`));
    assert.deepEqual(await sessionsOf('heidi'), []);
    await close();
  }
});

test('a refused WebSocket upgrade closes the client connection, and bytes pipelined after it never reach the upstream', async () => {
  const carol = await signInWithBrowser(browser, stack, 'carol@example.com', `http://ws.localhost:${stack.port}/`);
  const carolCookie = `_vallum=${await carol.cookie()}`;
  await carol.context.close();
  upstreamSeen.length = 0;
  for (const [status, cookie] of [
    [401, ''],
    [403, carolCookie],
  ] as const) {
    const { answer, closed } = await refusedUpgrade(cookie);
    assert.match(answer, new RegExp(`^HTTP/1.1 ${status} `));
    assert.ok(closed, `the proxy closed the connection after its ${status} answer`);
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(upstreamSeen, [], 'nothing reached the upstream');
});

test('a planted session cookie never survives sign-in: neither on authenticate nor on the route host (fixation)', async () => {
  // Another user's valid authenticate cookie, planted in the victim's browser while the sign-in is under way.
  const planter = await signInWithBrowser(browser, stack, 'grace@example.com');
  const authHost = new URL(stack.authenticateUrl).host;
  const planted = (await planter.context.cookies(`http://${authHost}/`)).find((c) => c.name === '_vallum');
  assert.ok(planted, 'authenticate keeps its own cookie');
  const [graceSession] = await sessionsOf('grace');
  assert.ok(graceSession);

  const { page, close } = await openLogin(stack.appUrl);
  const context = page.context();
  await context.addCookies([
    { name: '_vallum', value: planted.value, url: stack.authenticateUrl },
    { name: '_vallum', value: 'attacker-chosen', url: stack.appUrl },
  ]);
  await signInAtDemoIdp(page, 'ivan@example.com');
  await page.waitForURL((u) => u.href.startsWith(stack.appUrl), { timeout: 15_000 });
  const [ivanSession] = await sessionsOf('ivan');
  assert.ok(ivanSession);
  assert.notEqual(ivanSession.id, graceSession.id, 'a fresh session id');
  const authCookie = (await context.cookies(`http://${authHost}/`)).find((c) => c.name === '_vallum');
  const appCookie = (await context.cookies(stack.appUrl)).find((c) => c.name === '_vallum');
  assert.ok(authCookie && appCookie);
  assert.notEqual(authCookie.value, planted.value);
  assert.notEqual(appCookie.value, 'attacker-chosen');
  const seen = await hostGet(stack, appHost(stack), '/api/whoami', { cookie: `_vallum=${appCookie.value}` });
  assert.equal(seen.status, 200);
  assert.match(seen.text, /ivan@example\.com/);
  // The planted values authenticate nobody as the victim.
  assert.equal(await whoami('attacker-chosen'), 302);
  assert.equal(await store.getSession(graceSession.id), null, 'the session behind the planted cookie was ended, not taken over');
  await planter.context.close();
  await close();
});

test('a user removed at the IdP loses access within the refresh interval although the access token lives an hour', async () => {
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
  const cookie = await bob.cookie();
  const [session] = await sessionsOf('bob');
  assert.ok(session?.tokenExpiresAt && session.tokenExpiresAt - Date.now() > 50 * 60_000, 'the access token lives about an hour');
  assert.equal(await whoami(cookie), 200);
  stack.idp.removeUser('bob');
  const took = await waitUntil('access ends', async () => (await whoami(cookie)) === 302, 3 * INTERVAL_MS + 1000, 50);
  assert.ok(took <= 3 * INTERVAL_MS + 1000, `access ended after ${took} ms`);
  assert.deepEqual(await sessionsOf('bob'), []);
  await bob.context.close();
});

test('a group removed at the IdP reaches the policy within the refresh interval', async () => {
  const grace = await signInWithBrowser(browser, stack, 'grace@example.com');
  const cookie = await grace.cookie();
  assert.equal(await whoami(cookie), 200);
  stack.idp.setGroups('grace', []);
  await waitUntil('the policy sees the new groups', async () => (await whoami(cookie)) === 403, 3 * INTERVAL_MS + 1000, 50);
  await grace.context.close();
});

test('while the IdP is down, nobody is signed out', async () => {
  const alice = await signInWithBrowser(browser, stack, 'alice@example.com');
  const cookie = await alice.cookie();
  const [before] = await sessionsOf('alice');
  assert.ok(before);
  await stack.idp.close();
  await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
  assert.equal(await whoami(cookie), 200);
  const [afterwards] = await sessionsOf('alice');
  assert.equal(afterwards?.id, before.id);
  await alice.context.close();
});

/** Signs in at the IdP's form with the browser's cookies, following redirects by hand up to (not into) Vallum's callback. */
async function callbackOf(page: Page, email: string): Promise<URL> {
  const api = page.context().request;
  const action = new URL((await page.locator('form#login').getAttribute('action'))!, page.url());
  let res = await api.post(action.href, { form: { email, password: DEMO_PASSWORD }, maxRedirects: 0 });
  let at = action;
  for (let hop = 0; hop < 10; hop++) {
    const location = res.headers().location;
    assert.ok(location, `a redirect from ${at.pathname} (HTTP ${res.status()})`);
    at = new URL(location, at);
    if (at.pathname === '/oauth2/callback') return at;
    res = await api.get(at.href, { maxRedirects: 0 });
  }
  assert.fail('the IdP never redirected to the callback');
}

const logoutPost = (token: string) => postLogoutToken(stack, token);

/**
 * A raw upgrade request followed by a pipelined request, on a connection this end keeps half-open: it reads the
 * answer, then keeps writing until the proxy closes the connection (or 3 s pass).
 */
async function refusedUpgrade(cookie: string): Promise<{ answer: string; closed: boolean }> {
  const host = `ws.localhost:${stack.port}`;
  const socket = connect({ host: '127.0.0.1', port: stack.port, allowHalfOpen: true });
  let answer = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  socket.on('error', () => {});
  const done = new Promise<void>((resolve) => socket.once('close', () => ((closed = true), resolve())));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(
    `GET /socket HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n${cookie ? `Cookie: ${cookie}\r\n` : ''}\r\n` +
      `GET /pipelined HTTP/1.1\r\nHost: ${host}\r\n${cookie ? `Cookie: ${cookie}\r\n` : ''}\r\n`,
  );
  const deadline = Date.now() + 3000;
  while (!closed && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (!closed && answer.includes('\r\n\r\n') && socket.writable) socket.write(`GET /after HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  }
  await Promise.race([done, new Promise((r) => setTimeout(r, 10))]);
  if (!closed) socket.destroy();
  return { answer, closed };
}
