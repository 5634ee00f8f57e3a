// Sign-in while the IdP or the session store is down, against the real oidc-provider and redis-server: a retryable
// 503 page (Retry-After, a retry hint, "Try again" back to the app), never the 400 "could not be verified" that told
// users their sign-in was refused; once the IdP or Redis is back, starting again signs the user in. A sign-in
// response that does not verify stays a 400. The browser's part is played by an HTTP client with a cookie jar, so
// the IdP or Redis can be stopped exactly between the IdP's redirect to the callback and the callback itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { DEMO_PASSWORD } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';

let stack: Stack;

before(async () => {
  stack = await startStack({ mode: 'all-in-one', redis: true });
});

after(async () => {
  await stack?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  location: string | undefined;
}

/** A browser's part: cookies kept per host, redirects not followed. Every host is on loopback (`*.localhost`). */
function browserLike() {
  const jar = new Map<string, Map<string, string>>();
  return async (url: string, form?: Record<string, string>): Promise<Answer> => {
    const u = new URL(url);
    const cookies = jar.get(u.host) ?? new Map<string, string>();
    jar.set(u.host, cookies);
    const headers: Record<string, string> = { host: u.host, accept: 'text/html' };
    if (cookies.size > 0) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await request(`http://127.0.0.1:${u.port}${u.pathname}${u.search}`, {
      method: form ? 'POST' : 'GET',
      headers,
      body: form ? new URLSearchParams(form).toString() : null,
    });
    const set = res.headers['set-cookie'];
    for (const line of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair = '', ...attributes] = line.split(';');
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      const gone =
        value === '' || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
      if (gone) cookies.delete(name);
      else cookies.set(name, value);
    }
    const location = res.headers.location ? new URL(String(res.headers.location), url).href : undefined;
    return { status: res.statusCode, headers: res.headers, text: await res.body.text(), location };
  };
}

/** Opens the app and signs in at the IdP up to the IdP's redirect back to Vallum: the callback URL, not yet opened. */
async function upToCallback(send: ReturnType<typeof browserLike>): Promise<string> {
  let url = stack.appUrl;
  for (let hop = 0; hop < 20; hop++) {
    const r = await send(url);
    if (r.location) {
      if (new URL(r.location).pathname === '/oauth2/callback') return r.location;
      url = r.location;
      continue;
    }
    const action = /<form id="login" method="post" action="([^"]+)"/.exec(r.text)?.[1];
    assert.ok(action, `expected the IdP's login form at ${url}, got ${r.status}`);
    const posted = await send(new URL(action.replaceAll('&amp;', '&'), url).href, { email: 'alice@example.com', password: DEMO_PASSWORD });
    assert.ok(posted.location, `the IdP took the password (${posted.status})`);
    url = posted.location;
  }
  assert.fail('no redirect to the callback');
}

/** Follows redirects from `url` to the page at the end. */
async function follow(send: ReturnType<typeof browserLike>, url: string): Promise<Answer & { url: string }> {
  for (let hop = 0; hop < 10; hop++) {
    const r = await send(url);
    if (!r.location) return { ...r, url };
    url = r.location;
  }
  assert.fail(`too many redirects from ${url}`);
}

/** The retry page: 503 with Retry-After, the hint, and "Try again" back to the app. */
function assertRetryPage(r: Answer, message: RegExp) {
  assert.equal(r.status, 503, r.text);
  assert.equal(r.headers['retry-after'], '5');
  assert.match(r.text, /id="retry-hint">This is usually brief: try again in a few seconds\./);
  assert.ok(r.text.includes(`href="${stack.appUrl}">Try again`), 'Try again leads back to the app');
  assert.match(r.text, message);
  assert.doesNotMatch(r.text, /could not be verified/);
}

/** "Try again": the whole sign-in from the app, to the app's page showing who signed in; the signed-in client. */
async function signInCompletely() {
  const send = browserLike();
  const page = await follow(send, await upToCallback(send));
  assert.equal(page.status, 200, page.text);
  assert.ok(page.url.startsWith(stack.appUrl), page.url);
  assert.match(page.text, /alice@example\.com/);
  return send;
}

/** A 503 that says when to retry (the route host's own pages have no page to send the user back to). */
function assertUnavailable(r: Answer) {
  assert.equal(r.status, 503, r.text);
  assert.equal(r.headers['retry-after'], '5');
  assert.match(r.text, /id="retry-hint"/);
}

test('regression: the IdP down at the code exchange gives the 503 retry page, not 400 "could not be verified"; back, sign-in works', async () => {
  const send = browserLike();
  const callback = await upToCallback(send);
  await stack.idp.close();
  try {
    assertRetryPage(await send(callback), /The identity provider cannot be reached right now/);
  } finally {
    await stack.restartIdp();
  }
  await signInCompletely();
});

test('Redis down when the session is stored gives the 503 retry page; back, sign-in works', async () => {
  const send = browserLike();
  const callback = await upToCallback(send);
  await stack.redis!.stop();
  try {
    assertRetryPage(await send(callback), /Something went wrong while signing you in/);
  } finally {
    await stack.redis!.restart();
  }
  await signInCompletely();
});

test("Redis down at the hand-off to the route host, at a signed-in browser's sign-in and at sign-out: 503 with Retry-After; all work once it is back", async () => {
  const redis = stack.redis!;
  const send = browserLike();
  const handoff = (await send(await upToCallback(send))).location!;
  assert.equal(new URL(handoff).pathname, '/.vallum/callback');
  await redis.stop();
  try {
    assertUnavailable(await send(handoff));
  } finally {
    await redis.restart();
  }
  const signedIn = await signInCompletely();
  await redis.stop();
  try {
    // The first step of a sign-in looks up the session this browser already has at the authenticate host.
    const signIn = new URL('/.vallum/sign_in', stack.authenticateUrl);
    signIn.searchParams.set('redirect_uri', stack.appUrl);
    assertRetryPage(await signedIn(signIn.href), /Something went wrong while signing you in/);
    assertUnavailable(await signedIn(new URL('/.vallum/sign_out', stack.appUrl).href));
  } finally {
    await redis.restart();
  }
  const out = await signedIn(new URL('/.vallum/sign_out', stack.appUrl).href);
  assert.equal(out.status, 302, out.text);
});

test('an IdP that answers the sign-in with temporarily_unavailable gets the 503 retry page; access_denied stays a refusal', async () => {
  const send = browserLike();
  const callback = new URL(await upToCallback(send));
  const state = callback.searchParams.get('state')!;
  const busy = new URL(callback.pathname, callback);
  busy.searchParams.set('error', 'temporarily_unavailable');
  busy.searchParams.set('state', state);
  assertRetryPage(await send(busy.href), /The identity provider cannot be reached right now/);
  const again = browserLike();
  const second = new URL(await upToCallback(again));
  const denied = new URL(second.pathname, second);
  denied.searchParams.set('error', 'access_denied');
  denied.searchParams.set('state', second.searchParams.get('state')!);
  const r = await again(denied.href);
  assert.equal(r.status, 400);
  assert.match(r.text, /refused the sign-in \(access_denied\)/);
});

test('a sign-in response that does not verify (a forged code) stays a 400, without Retry-After', async () => {
  const send = browserLike();
  const callback = new URL(await upToCallback(send));
  callback.searchParams.set('code', 'forged-code');
  const r = await send(callback.href);
  assert.equal(r.status, 400);
  assert.equal(r.headers['retry-after'], undefined);
  assert.match(r.text, /could not be verified/);
});
