import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  DEMO_USERS,
  getFreePort,
  launchBrowser,
  pingRedis,
  signInAtDemoIdp,
  signInOverHttp,
  startDemoIdp,
  startEchoUpstream,
  startRedis,
  type EchoUpstream,
} from './index.js';

/** The demo IdP's authorization URL for a code flow with PKCE (S256). */
function authorizeUrl(issuer: string, clientId: string, redirectUri: string, state: string): string {
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid email groups',
    state,
    code_challenge: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  return url.href;
}

describe('getFreePort', () => {
  it('returns a bindable loopback port', async () => {
    const port = await getFreePort();
    assert.ok(port > 0 && port < 65536);
  });
});

describe('startRedis', () => {
  it('starts a redis-server that answers PING, restarts on the same port, and stops', async () => {
    const redis = await startRedis();
    try {
      assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
      assert.ok(redis.pid > 0);
      assert.equal(await pingRedis(redis.port), true);

      const firstPid = redis.pid;
      await redis.restart();
      assert.notEqual(redis.pid, firstPid);
      assert.equal(await pingRedis(redis.port), true, 'same port after restart');
    } finally {
      await redis.stop();
    }
    assert.equal(await pingRedis(redis.port), false, 'port closed after stop');
    await redis.stop(); // idempotent
  });
});

describe('launchBrowser + startEchoUpstream + signInAtDemoIdp', () => {
  let browser: Browser;
  let echo: EchoUpstream;
  before(async () => {
    [browser, echo] = await Promise.all([launchBrowser(), startEchoUpstream()]);
  });
  after(async () => {
    await browser?.close();
    await echo?.close();
  });

  it('opens a page served by the echo upstream and reads its JSON', async () => {
    const page = await browser.newPage();
    try {
      const response = await page.goto(`${echo.url}/hello?x=1`);
      assert.equal(response?.status(), 200);
      const body = JSON.parse(await page.locator('body').innerText()) as { method: string; url: string; headers: Record<string, string> };
      assert.equal(body.method, 'GET');
      assert.equal(body.url, '/hello?x=1');
      assert.match(body.headers['user-agent'] ?? '', /Chrome/);
      const recorded = echo.requests.find((request) => request.url === '/hello?x=1');
      assert.equal(recorded?.method, 'GET');
      assert.equal(recorded?.body, '');
    } finally {
      await page.close();
    }
  });

  it('records request bodies', async () => {
    const res = await fetch(`${echo.url}/post`, { method: 'POST', body: 'a=1' });
    assert.equal(res.status, 200);
    assert.equal(echo.requests.at(-1)?.body, 'a=1');
  });

  it('signs in at the demo IdP in Chromium and lands on the redirect_uri with a code', async () => {
    const redirectUri = `${echo.url}/oauth2/callback`;
    const idp = await startDemoIdp({ clients: [{ client_id: 'e2e', client_secret: 'e2e-secret', redirect_uris: [redirectUri] }] });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(authorizeUrl(idp.issuer, 'e2e', redirectUri, 'st'));
      await assert.rejects(signInAtDemoIdp(page, 'bob@example.com', 'wrong'), /Invalid email or password/);
      await signInAtDemoIdp(page, DEMO_USERS[1]?.email ?? '');
      await page.waitForURL((url) => url.href.startsWith(redirectUri), { timeout: 10_000 });
      const landed = new URL(page.url());
      assert.equal(landed.searchParams.get('state'), 'st');
      assert.ok(landed.searchParams.get('code'));
      const cookies = await context.cookies(idp.issuer);
      assert.ok(cookies.length > 0 && cookies.every((cookie) => !cookie.name.startsWith('_vallum')), cookies.map((c) => c.name).join());
    } finally {
      await context.close();
      await idp.close();
    }
  });
});

describe('signInOverHttp', () => {
  it('signs in at the demo IdP over plain HTTP, keeps cookies per host, and reports refused credentials', async () => {
    const echo = await startEchoUpstream();
    const redirectUri = `${echo.url}/oauth2/callback`;
    const idp = await startDemoIdp({ clients: [{ client_id: 'http', client_secret: 'http-secret', redirect_uris: [redirectUri] }] });
    try {
      const authorize = (state: string) => authorizeUrl(idp.issuer, 'http', redirectUri, state);
      await assert.rejects(signInOverHttp(authorize('a'), 'bob@example.com', 'wrong'), /refused the sign-in of bob@example.com: Invalid email or password/);
      const signedIn = await signInOverHttp(authorize('b'), DEMO_USERS[1]?.email ?? '');
      assert.equal(signedIn.status, 200);
      const landed = new URL(signedIn.url);
      assert.equal(`${landed.origin}${landed.pathname}`, redirectUri);
      assert.equal(landed.searchParams.get('state'), 'b');
      assert.ok(landed.searchParams.get('code'));
      assert.equal(echo.requests.at(-1)?.url, `${landed.pathname}${landed.search}`);
      // The IdP's session cookie was kept (and sent on), as a browser keeps it for the next sign-in.
      assert.match(signedIn.cookieHeader(idp.issuer), new RegExp(`_demo_idp_${idp.port}_session=`));
    } finally {
      await idp.close();
      await echo.close();
    }
  });
});
