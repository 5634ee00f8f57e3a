// Programmatic access against the real stack: the IdP's own ID token as a bearer token, a service account made
// by `vallum service-account create`, and the command-line login that hands a token to a loopback listener only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import type { Browser } from 'playwright-core';
import { createRedisStore, type SessionStore } from '@vallum/cache';
import { launchBrowser } from '@vallum/testing';
import { VALLUM_BIN, startStack, type Stack } from './harness.js';
import { appHost, hostGet, signInWithBrowser, type SignedIn } from './identity-helpers.js';

let stack: Stack;
let browser: Browser;
let store: SessionStore;
let alice: SignedIn;
let configFile: string;

before(async () => {
  stack = await startStack({ mode: 'all-in-one', redis: true });
  browser = await launchBrowser();
  store = createRedisStore(stack.redisUrl!, { tokenSecret: stack.tokenSecret });
  alice = await signInWithBrowser(browser, stack, 'alice@example.com');
  configFile = join(mkdtempSync(join(tmpdir(), 'vallum-sa-')), 'vallum.yaml');
  writeFileSync(configFile, stack.configText);
});

after(async () => {
  await store?.close();
  await browser?.close();
  await stack?.close();
});

const asBearer = async (token: string, host = appHost(stack)) => {
  const res = await hostGet(stack, host, '/api/whoami', { authorization: `Bearer ${token}`, accept: 'application/json' });
  return { status: res.status, headers: res.status === 200 ? (JSON.parse(res.text) as { headers: Record<string, string> }).headers : {}, res };
};

test("the IdP's ID token works as a bearer token; a tampered one gets 401, not a sign-in redirect", async () => {
  const idToken = (await store.findSessions({ sub: 'alice' }))[0]?.idToken;
  assert.ok(idToken);
  const ok = await asBearer(idToken);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.authorization, `Bearer ${idToken}`, "the IdP's own token is the app's to use, and passes through");
  assert.equal(ok.headers['x-vallum-claim-email'], 'alice@example.com');
  const [h, p, s] = idToken.split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), groups: ['admins', 'root'] })).toString('base64url')}.${s}`;
  const refused = await asBearer(forged);
  assert.equal(refused.status, 401);
  assert.match(String(refused.res.headers['www-authenticate']), /Bearer/);
});

test('bearer confusion: alg none, HS256 keyed with the IdP public key, a foreign key under its kid, wrong aud or iss, expired: all 401', async () => {
  const idToken = (await store.findSessions({ sub: 'alice' }))[0]?.idToken;
  assert.ok(idToken);
  const { kid } = decodeProtectedHeader(idToken);
  const now = Math.floor(Date.now() / 1000);
  // alice's claims, fresh: signed by the IdP as they are, this token is accepted (so each refusal below is for its flaw).
  const claims = { ...decodeJwt(idToken), groups: ['admins'], iat: now, exp: now + 300 };
  assert.equal((await asBearer(await stack.idp.signJwt(claims))).status, 200);
  // The IdP's public key as published, used as an HMAC secret (PEM and JWK text), the classic key-confusion attack.
  const discovery = (await (await fetch(`${stack.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
  const jwks = (await (await fetch(discovery.jwks_uri)).json()) as { keys: Array<Record<string, unknown>> };
  const jwk = jwks.keys.find((k) => k.kid === kid)!;
  assert.ok(jwk, 'the IdP publishes the key of its ID tokens');
  const pem = String(createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }));
  const hmac = (secret: string) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(secret));
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const refused = {
    'alg none': `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`,
    'HS256 keyed with the PEM': await hmac(pem),
    'HS256 keyed with the JWK': await hmac(JSON.stringify(jwk)),
    "a foreign key under the IdP's kid": await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(foreign),
    'another audience': await stack.idp.signJwt({ ...claims, aud: 'some-other-client' }),
    'another issuer': await stack.idp.signJwt({ ...claims, iss: 'http://evil.example' }),
    expired: await stack.idp.signJwt({ ...claims, iat: now - 600, exp: now - 300 }),
  };
  for (const [name, token] of Object.entries(refused)) {
    const res = await asBearer(token);
    assert.equal(res.status, 401, name);
    assert.match(String(res.res.headers['www-authenticate']), /Bearer/, name);
  }
});

test('vallum service-account create prints a token that gets its groups through the policy', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [
    VALLUM_BIN,
    'service-account',
    'create',
    '--name',
    'ci',
    '--expires',
    '30d',
    '--groups',
    'engineering',
    '--config',
    configFile,
  ]);
  const token = stdout.trim();
  const app = await asBearer(token);
  assert.equal(app.status, 200);
  assert.equal(app.headers['x-vallum-claim-groups'], 'engineering');
  assert.equal(app.headers.authorization, undefined, 'a Vallum token is a Vallum credential: the app never sees it');
  assert.equal((await asBearer(token, `admin.localhost:${stack.port}`)).status, 403, 'admin needs the admins group');
  const bad = await promisify(execFile)(process.execPath, [
    VALLUM_BIN,
    'service-account',
    'create',
    '--name',
    'CI!',
    '--expires',
    'soon',
    '--config',
    configFile,
  ]).catch((e: { code: number; stderr: string }) => e);
  assert.equal((bad as { code: number }).code, 2);
  assert.match((bad as { stderr: string }).stderr, /--name must be.*--expires must be a duration/s);
});

test('the command-line login hands a session token to a loopback listener only, and it ends with the session', async () => {
  const received: string[] = [];
  const listener: Server = createServer((req, res) => {
    received.push(new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('vallum_token') ?? '');
    res.end('You can close this window.');
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  try {
    const port = (listener.address() as { port: number }).port;
    await alice.page.goto(`${stack.appUrl}.vallum/api/v1/login?redirect_uri=${encodeURIComponent(`http://127.0.0.1:${port}/callback`)}`);
    await alice.page.click('#allow');
    await alice.page.waitForURL((u) => u.port === String(port), { timeout: 10_000 });
    const token = received[0];
    assert.ok(token);
    const whoami = await asBearer(token);
    assert.equal(whoami.status, 200);
    assert.equal(whoami.headers['x-vallum-claim-email'], 'alice@example.com');
    assert.equal(whoami.headers.authorization, undefined, 'the command-line token is not passed to the app');

    for (const target of ['http://evil.example:80/', 'https://127.0.0.1:443/', 'http://127.0.0.1/', 'http://127.0.0.1.evil.example:8000/']) {
      const res = await hostGet(stack, appHost(stack), `/.vallum/api/v1/login?redirect_uri=${encodeURIComponent(target)}`, {
        cookie: `_vallum=${await alice.cookie()}`,
      });
      assert.equal(res.status, 400, target);
    }
    const sid = (await store.findSessions({ sub: 'alice' }))[0]!.id;
    await store.deleteSession(sid);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await asBearer(token)).status, 401, 'the token ends with its session');
  } finally {
    listener.close();
  }
});
