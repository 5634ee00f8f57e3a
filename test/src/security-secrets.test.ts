// Secrets stay secret (issue 17, point 6), through four real Vallum processes, a real IdP and a real Redis: no
// hand-off token, sign-out token, OAuth code or state, IdP token or bearer credential in any log line; no IdP token
// in clear in Redis; none handed to the proxy by the cache API; none on the user page (CVE-2024-39315).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { request } from 'undici';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createRedisStore } from '@vallum/cache';
import { loadVallumConfigText } from '@vallum/cmd';
import { createServiceTokenSigner } from '@vallum/service-auth';
import { createHttpCacheClient, type CacheApi } from '@vallum/service-client';
import type { Session } from '@vallum/session';
import { launchBrowser, signInAtDemoIdp } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { appHost, hostGet, waitUntil } from './identity-helpers.js';

const run = promisify(execFile);
/** URL parameters that carry a credential somewhere in the sign-in, hand-off and sign-out flow. */
const SECRET_PARAMS = ['vallum_handoff', 'code', 'state', 'sign_out_token', 'id_token_hint'];
/** A dedicated key for IdP tokens at rest, instead of the default derived from shared_secret. */
const TOKEN_KEY = randomBytes(32).toString('hex');

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const seenUrls: string[] = [];
let cacheAs: (service: string) => CacheApi;
let session: Session;
let sharedSecret: string;

before(async () => {
  stack = await startStack({ mode: 'split', redis: true, logLevel: 'info', configExtra: `token_encryption_key: ${TOKEN_KEY}\n` });
  browser = await launchBrowser();
  context = await browser.newContext();
  context.on('request', (r) => seenUrls.push(r.url()));
  page = await context.newPage();
  await page.goto(stack.appUrl);
  await signInAtDemoIdp(page, 'alice@example.com');
  await page.waitForURL((u) => u.href.startsWith(stack.appUrl), { timeout: 15_000 });
  sharedSecret = loadVallumConfigText(stack.configText, stack.configFile).sharedSecret;
  cacheAs = (service) => createHttpCacheClient({ url: stack.cacheUrl!, service: 'cache', signer: createServiceTokenSigner(sharedSecret, service) });
  const found = (await cacheAs('authenticate').findSessions({ sub: 'alice' }))[0];
  assert.ok(found?.accessToken && found.refreshToken && found.idToken, 'authenticate reads the IdP tokens of the session');
  session = found;
});

after(async () => {
  await context?.close();
  await browser?.close();
  await stack?.close();
});

const idpTokens = () => [session.idToken!, session.accessToken!, session.refreshToken!];

test('the user page shows who you are but none of the IdP tokens (CVE-2024-39315)', async () => {
  await page.goto(`${stack.appUrl}.vallum/`);
  assert.equal(await page.locator('#email').textContent(), 'alice@example.com');
  const html = await page.content();
  for (const token of idpTokens()) assert.ok(!html.includes(token), 'an IdP token is on the user page');
});

test('a Redis dump holds no IdP token in clear, and the session still works from it', async () => {
  const cli = (...args: string[]) => run('redis-cli', ['-u', stack.redisUrl!, ...args]).then((r) => r.stdout);
  const keys = (await cli('--scan')).split('\n').filter(Boolean);
  assert.ok(
    keys.some((k) => /^vallum:\{.+\}:session$/.test(k)),
    keys.join(' '),
  );
  let dump = '';
  for (const key of keys) dump += (await cli('type', key)).trim() === 'string' ? await cli('get', key) : await cli('smembers', key);
  assert.ok(dump.includes('alice@example.com'), 'the session record was read');
  for (const token of idpTokens()) assert.ok(!dump.includes(token), `an IdP token is in clear in Redis: ${dump.slice(0, 300)}`);
  const res = await hostGet(stack, appHost(stack), '/', {
    cookie: `_vallum=${(await context.cookies(stack.appUrl)).find((c) => c.name === '_vallum')!.value}`,
  });
  assert.equal(res.status, 200);
});

test('the IdP tokens in Redis are sealed with token_encryption_key: with shared_secret alone the record does not open', async () => {
  const withKey = createRedisStore(stack.redisUrl!, { tokenSecret: TOKEN_KEY });
  const withSharedSecret = createRedisStore(stack.redisUrl!, { tokenSecret: sharedSecret });
  try {
    assert.ok((await withKey.getSession(session.id))?.refreshToken, 'the key opens the record');
    assert.equal(await withSharedSecret.getSession(session.id), null, 'a record that does not open reads as signed out');
  } finally {
    await withKey.close();
    await withSharedSecret.close();
  }
});

test('the cache API answers the proxy with sessions without IdP tokens', async () => {
  const proxy = cacheAs('proxy');
  const asProxy = JSON.stringify([
    await proxy.getSession(session.id),
    await proxy.findSessions({ sub: 'alice' }),
    session.idpSid ? await proxy.findSessions({ idpSid: session.idpSid }) : [],
  ]);
  assert.ok(asProxy.includes('alice@example.com'), asProxy);
  for (const token of idpTokens()) assert.ok(!asProxy.includes(token), 'the proxy was given an IdP token');
});

test('no log line of any process carries a hand-off token, sign-out token, OAuth code or state, IdP token or bearer credential', async () => {
  const cookie = (await context.cookies(stack.appUrl)).find((c) => c.name === '_vallum')!.value;
  // A forwarded request and a refused bearer token, both with credential-named query parameters.
  assert.equal(
    (await hostGet(stack, appHost(stack), '/?code=fwd-code-0123456789&access_token=fwd-at-0123456789', { cookie: `_vallum=${cookie}` })).status,
    200,
  );
  await hostGet(stack, appHost(stack), '/?refresh_token=qs-rt-0123456789', { authorization: 'Bearer bearer-0123456789' });
  // A replayed IdP callback is refused, and its URL and error are logged.
  const callback = seenUrls.find((u) => new URL(u).pathname === '/oauth2/callback')!;
  assert.ok(callback, seenUrls.join('\n'));
  const authPort = new URL(stack.authenticateUrl).port;
  const replay = await request(`http://127.0.0.1:${authPort}${new URL(callback).pathname}${new URL(callback).search}`, {
    headers: { host: new URL(stack.authenticateUrl).host },
  });
  await replay.body.dump();
  assert.ok(replay.statusCode >= 400);

  await page.goto(`${stack.appUrl}.vallum/`);
  await page.locator('#sign-out').click();
  const confirm = page.getByRole('button', { name: 'Yes, sign me out' });
  await Promise.race([
    page.waitForURL((u) => u.pathname === '/.vallum/signed_out', { timeout: 15_000 }),
    confirm.waitFor({ timeout: 15_000 }).then(() => confirm.click()),
  ]);
  await page.waitForURL((u) => u.pathname === '/.vallum/signed_out', { timeout: 15_000 });

  const secrets = new Map<string, string>();
  for (const url of seenUrls) {
    const u = new URL(url);
    for (const name of SECRET_PARAMS) {
      const value = u.searchParams.get(name);
      if (value && value.length >= 8) secrets.set(value, `${name} (from ${u.pathname})`);
    }
  }
  // id_token_hint too: the route host ended the session at once, yet kept its ID token for the IdP's logout.
  for (const name of ['vallum_handoff', 'code', 'state', 'sign_out_token', 'id_token_hint']) {
    assert.ok(
      [...secrets.values()].some((v) => v.startsWith(name)),
      `the flow had no ${name}: ${seenUrls.join('\n')}`,
    );
  }
  for (const token of idpTokens()) secrets.set(token, 'an IdP token');
  secrets.set(cookie, 'the session cookie');
  for (const extra of ['fwd-code-0123456789', 'fwd-at-0123456789', 'qs-rt-0123456789', 'bearer-0123456789']) secrets.set(extra, extra);

  // The last request of the flow is logged before the assertions look.
  await waitUntil('the signed-out page is logged', async () => stack.logs().includes('/.vallum/signed_out'), 5000);
  const logs = stack.logs();
  assert.ok(logs.includes('/oauth2/callback?') && logs.includes('/.vallum/callback?'), 'the flow was logged');
  for (const [value, what] of secrets) {
    const line = logs.split('\n').find((l) => l.includes(value));
    assert.equal(line, undefined, `${what} appears in a log line: ${line?.slice(0, 400)}`);
  }
  assert.ok(logs.includes('[redacted]'), 'credentials were replaced, not the lines dropped');
});
