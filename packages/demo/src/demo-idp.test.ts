import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { DEMO_PASSWORD, DEMO_USERS, LOGIN_ERROR_MESSAGE, startDemoIdp, type DemoIdp } from './index.js';

const CLIENT = {
  client_id: 'vallum',
  client_secret: 'vallum-client-secret',
  redirect_uris: ['http://127.0.0.1:1/oauth2/callback'],
  post_logout_redirect_uris: ['http://127.0.0.1:1/signed-out'],
};
const REDIRECT_URI = CLIENT.redirect_uris[0] ?? '';

/** Just enough of a browser cookie jar for one host: paths are ignored, expired cookies dropped. */
class CookieJar {
  readonly #cookies = new Map<string, string>();
  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expires = attributes.find((a) => a.trim().toLowerCase().startsWith('expires='));
      const expired = expires !== undefined && Date.parse(expires.split('=')[1] ?? '') < Date.now();
      if (value === '' || expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  names(): string[] {
    return [...this.#cookies.keys()];
  }
}

async function get(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: jar.header() } });
  jar.store(res);
  return res;
}

/** Follows redirects by hand (carrying cookies) until one leaves the IdP or a page is rendered. */
async function follow(jar: CookieJar, idp: DemoIdp, res: Response): Promise<Response> {
  for (let hops = 0; hops < 10 && res.status >= 300 && res.status < 400; hops += 1) {
    const location = new URL(res.headers.get('location') ?? '', res.url || idp.issuer);
    if (location.origin !== idp.issuer) return res;
    res = await get(jar, location.href);
  }
  return res;
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function discover(
  idp: DemoIdp,
): Promise<Record<string, unknown> & Record<'authorization_endpoint' | 'token_endpoint' | 'userinfo_endpoint' | 'jwks_uri' | 'revocation_endpoint', string>> {
  const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  return (await res.json()) as never;
}

function authorizationUrl(endpoint: string, challenge: string, extra: Record<string, string> = {}): string {
  const auth = new URL(endpoint);
  auth.search = new URLSearchParams({
    client_id: CLIENT.client_id,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid email profile groups offline_access',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'state-123',
    nonce: 'nonce-456',
    ...extra,
  }).toString();
  return auth.href;
}

/** Starts an authorization request and returns the login page response plus the interaction URL. */
async function openLoginPage(idp: DemoIdp, jar: CookieJar, challenge: string, extra: Record<string, string> = {}): Promise<{ page: Response; url: string }> {
  const { authorization_endpoint } = await discover(idp);
  const first = await get(jar, authorizationUrl(authorization_endpoint, challenge, extra));
  assert.equal(first.status, 303, 'the authorization endpoint redirects to the interaction page');
  const url = new URL(first.headers.get('location') ?? '', idp.issuer).href;
  assert.match(url, /\/interaction\/[\w-]+$/);
  const page = await get(jar, url);
  return { page, url };
}

async function postLogin(jar: CookieJar, url: string, email: string, password: string): Promise<Response> {
  return get(jar, `${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, password }).toString(),
  });
}

describe('startDemoIdp', () => {
  let idp: DemoIdp;
  before(async () => {
    idp = await startDemoIdp({ clients: [CLIENT] });
  });
  after(async () => {
    await idp.close();
  });

  it('serves discovery for a loopback http issuer with PKCE S256, end_session and revocation', async () => {
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(idp.issuer, `http://127.0.0.1:${idp.port}`);
    const doc = await discover(idp);
    assert.equal(doc['issuer'], idp.issuer);
    assert.deepEqual(doc['code_challenge_methods_supported'], ['S256']);
    assert.equal(doc['end_session_endpoint'], `${idp.issuer}/session/end`);
    assert.ok(doc['revocation_endpoint']);
    assert.ok((doc['scopes_supported'] as string[]).includes('groups'));
    assert.ok((doc['claims_supported'] as string[]).includes('groups'));
    assert.deepEqual(
      idp.users.map((u) => u.email),
      DEMO_USERS.map((u) => u.email),
    );
  });

  it('renders the login form listing the demo users and password', async () => {
    const jar = new CookieJar();
    const { page } = await openLoginPage(idp, jar, pkce().challenge);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<title>Vallum demo IdP/);
    assert.match(html, /name="email"/);
    assert.match(html, /name="password"/);
    assert.match(html, />Sign in<\/button>/);
    for (const user of DEMO_USERS) assert.ok(html.includes(user.email), user.email);
    assert.ok(html.includes(DEMO_PASSWORD));
    assert.ok(
      jar.names().every((name) => !name.startsWith('_vallum')),
      jar.names().join(),
    );
  });

  it('rejects an unknown user and a wrong password on the login form', async () => {
    const jar = new CookieJar();
    const { url } = await openLoginPage(idp, jar, pkce().challenge);
    for (const [email, password] of [
      ['mallory@example.com', DEMO_PASSWORD],
      ['alice@example.com', 'wrong-password'],
    ] as const) {
      const res = await postLogin(jar, url, email, password);
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.ok(html.includes(LOGIN_ERROR_MESSAGE), html);
      assert.ok(html.includes(`value="${email}"`), 'the email is kept in the form');
      assert.equal(res.headers.get('location'), null);
    }
  });

  it('refuses an authorization request without PKCE', async () => {
    const { authorization_endpoint } = await discover(idp);
    const auth = new URL(authorization_endpoint);
    auth.search = new URLSearchParams({ client_id: CLIENT.client_id, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid' }).toString();
    const res = await fetch(auth, { redirect: 'manual' });
    const location = new URL(res.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.match(location.searchParams.get('error_description') ?? '', /PKCE/);
  });

  it('completes the code flow: consent auto-granted, claims in ID token and userinfo, refresh and revocation', async () => {
    const jar = new CookieJar();
    const { verifier, challenge } = pkce();
    const { url } = await openLoginPage(idp, jar, challenge, { prompt: 'consent' });
    const login = await postLogin(jar, url, 'Alice@Example.com', DEMO_PASSWORD);
    assert.equal(login.status, 303);
    const callback = await follow(jar, idp, login);
    const redirect = new URL(callback.headers.get('location') ?? '');
    assert.equal(`${redirect.origin}${redirect.pathname}`, REDIRECT_URI);
    assert.equal(redirect.searchParams.get('state'), 'state-123');
    const code = redirect.searchParams.get('code');
    assert.ok(code, redirect.href);

    const doc = await discover(idp);
    const basic = `Basic ${Buffer.from(`${CLIENT.client_id}:${CLIENT.client_secret}`).toString('base64')}`;
    const tokenRes = await fetch(doc.token_endpoint, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
    });
    const tokens = (await tokenRes.json()) as Record<string, string>;
    assert.equal(tokenRes.status, 200, JSON.stringify(tokens));
    assert.ok(tokens['refresh_token'], 'offline_access + prompt=consent yields a refresh token');

    const { payload } = await jwtVerify(tokens['id_token'] ?? '', createRemoteJWKSet(new URL(doc.jwks_uri)), {
      issuer: idp.issuer,
      audience: CLIENT.client_id,
    });
    assert.equal(payload.sub, 'alice');
    assert.equal(payload['nonce'], 'nonce-456');
    assert.equal(payload['email'], 'alice@example.com');
    assert.equal(payload['email_verified'], true);
    assert.equal(payload['name'], 'Alice Admin');
    assert.deepEqual(payload['groups'], ['admins', 'engineering']);

    const userinfo = await fetch(doc.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens['access_token']}` } });
    assert.deepEqual(await userinfo.json(), {
      sub: 'alice',
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice Admin',
      groups: ['admins', 'engineering'],
    });

    const refreshed = await fetch(doc.token_endpoint, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens['refresh_token'] ?? '' }),
    });
    const refreshedTokens = (await refreshed.json()) as Record<string, string>;
    assert.equal(refreshed.status, 200, JSON.stringify(refreshedTokens));
    assert.ok(refreshedTokens['access_token']);

    // A second authorization in the same browser session needs neither the login form nor a consent screen.
    const second = await get(jar, authorizationUrl(doc.authorization_endpoint, pkce().challenge));
    const back = await follow(jar, idp, second);
    const backTo = new URL(back.headers.get('location') ?? '', idp.issuer);
    assert.equal(`${backTo.origin}${backTo.pathname}`, REDIRECT_URI);
    assert.ok(backTo.searchParams.get('code'), backTo.href);

    const revoked = await fetch(doc.revocation_endpoint, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshedTokens['refresh_token'] ?? '' }),
    });
    assert.equal(revoked.status, 200);
    const afterRevoke = await fetch(doc.token_endpoint, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshedTokens['refresh_token'] ?? '' }),
    });
    assert.equal(((await afterRevoke.json()) as { error: string }).error, 'invalid_grant');
  });

  it('signs out through end_session: a confirmation form, then back to the post_logout_redirect_uri', async () => {
    const jar = new CookieJar();
    const { url } = await openLoginPage(idp, jar, pkce().challenge);
    await follow(jar, idp, await postLogin(jar, url, 'carol@example.com', DEMO_PASSWORD));
    const end = new URL(`${idp.issuer}/session/end`);
    end.search = new URLSearchParams({ client_id: CLIENT.client_id, post_logout_redirect_uri: 'http://127.0.0.1:1/signed-out', state: 'bye' }).toString();
    const page = await get(jar, end.href);
    assert.equal(page.status, 200);
    const html = await page.text();
    // Only a signed-in browser gets the question; without a session oidc-provider auto-submits the form.
    assert.match(html, /<title>Vallum demo IdP — sign out<\/title>/);
    assert.match(html, /Yes, sign me out/);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(xsrf, html);
    const confirm = await get(jar, `${idp.issuer}/session/end/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    assert.equal(confirm.status, 303);
    assert.equal(confirm.headers.get('location'), 'http://127.0.0.1:1/signed-out?state=bye');
  });

  it('refuses a client that authenticates with the wrong secret', async () => {
    const doc = await discover(idp);
    const res = await fetch(doc.token_endpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT.client_id}:nope`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT_URI, code_verifier: 'y'.repeat(43) }),
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
  });

  it('rejects options without clients', async () => {
    await assert.rejects(startDemoIdp({ clients: [] }), { code: 'VALLUM_DEMO_OPTIONS_INVALID' });
  });
});
