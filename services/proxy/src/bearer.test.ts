// Bearer tokens against a real HTTP server publishing OIDC metadata and a JWKS: what is accepted, and every way a
// token is refused (alg none, HS256 keyed with the public key, wrong audience or issuer, expired, not yet valid).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createPublicKey } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { VallumConfig } from '@vallum/config';
import { createApiTokenCodec, createHotPathCounters, type Session } from '@vallum/session';
import { apiTokenEvent } from '@vallum/service-client';
import { bearerToken, createBearerAuth } from './bearer.js';
import type { SessionResolver } from './session-resolver.js';

const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
const server = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
  else res.end(JSON.stringify({ keys: [publicJwk] }));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
after(() => server.close());

const SECRET = 'z'.repeat(32);
const live: Session = {
  id: 'sid-1',
  sub: 'alice',
  email: 'alice@example.com',
  groups: ['admins'],
  claims: {},
  createdAt: Date.now(),
  expiresAt: Date.now() + 60_000,
};
const changeListeners: Array<(key: string) => void> = [];
const sessions = {
  fromSid: async (sid: string) => (sid === live.id ? live : null),
  onChange: (l: (key: string) => void) => changeListeners.push(l),
} as unknown as SessionResolver;
const revoked = new Set<string>();
const MAX_LIFETIME_MS = 90 * 86_400_000;
const auth = createBearerAuth({
  config: { idp: { issuer, clientId: 'vallum', allowInsecureHttp: true }, sharedSecret: SECRET, serviceAccountMaxLifetimeMs: MAX_LIFETIME_MS } as VallumConfig,
  sessions,
  cache: { isApiTokenRevoked: async (jti) => revoked.has(jti) },
});
const now = () => Math.floor(Date.now() / 1000);
const idpToken = (claims: Record<string, unknown> = {}) =>
  new SignJWT({ email: 'alice@example.com', groups: ['admins'], ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(String(claims.iss ?? issuer))
    .setAudience(String(claims.aud ?? 'vallum'))
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime(Number(claims.exp ?? now() + 300))
    .sign(privateKey);

test('an IdP JWT for this client is accepted with its identity', async () => {
  const s = await auth.identify(await idpToken());
  assert.equal(s?.sub, 'alice');
  assert.equal(s?.email, 'alice@example.com');
  assert.deepEqual(s?.groups, ['admins']);
});

test('alg none, HS256 keyed with the public key, wrong aud or iss, expired and not-yet-valid tokens are refused', async () => {
  const body = (claims: object) => Buffer.from(JSON.stringify(claims)).toString('base64url');
  const claims = { iss: issuer, aud: 'vallum', sub: 'alice', exp: now() + 300 };
  const none = `${body({ alg: 'none', typ: 'JWT' })}.${body(claims)}.`;
  const pem = createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode(String(pem)));
  const refused = {
    none,
    hs,
    wrongAud: await idpToken({ aud: 'someone-else' }),
    wrongIss: await idpToken({ iss: 'http://evil.example' }),
    expired: await idpToken({ exp: now() - 120 }),
    notYet: await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setNotBefore(now() + 600)
      .sign(privateKey),
    garbage: 'not-a-jwt',
  };
  for (const [name, token] of Object.entries(refused)) assert.equal(await auth.identify(token), null, name);
});

test('Vallum API tokens: a service account, and a session token that ends with its session', async () => {
  const codec = createApiTokenCodec(SECRET);
  const sa = await auth.identify(await codec.sign({ kind: 'service-account', name: 'ci', groups: ['deployers'], expiresAt: Date.now() + 60_000 }));
  assert.equal(sa?.sub, 'service-account:ci');
  assert.deepEqual(sa?.groups, ['deployers']);
  assert.equal(await auth.identify(await codec.sign({ kind: 'service-account', name: 'ci', groups: [], expiresAt: Date.now() - 1000 })), null, 'expired');
  assert.equal(
    await auth.identify(await createApiTokenCodec('o'.repeat(32)).sign({ kind: 'service-account', name: 'ci', groups: [], expiresAt: Date.now() + 60_000 })),
    null,
    'other deployment',
  );
  assert.equal((await auth.identify(await codec.sign({ kind: 'session', sid: live.id, expiresAt: live.expiresAt })))?.email, 'alice@example.com');
  assert.equal(await auth.identify(await codec.sign({ kind: 'session', sid: 'gone', expiresAt: live.expiresAt })), null);
});

test('a revoked service-account token is refused at once, even while memoised; one older than the maximum lifetime never works', async () => {
  const codec = createApiTokenCodec(SECRET);
  const token = await codec.sign({ kind: 'service-account', name: 'ci', groups: [], expiresAt: Date.now() + 60_000, jti: 'jti-revoked' });
  assert.equal((await auth.identify(token))?.sub, 'service-account:ci');
  revoked.add('jti-revoked');
  assert.equal((await auth.identify(token))?.sub, 'service-account:ci', 'memoised until the revocation is announced');
  for (const l of changeListeners) l(apiTokenEvent('jti-revoked'));
  assert.equal(await auth.identify(token), null);
  const old = await codec.sign({
    kind: 'service-account',
    name: 'ci',
    groups: [],
    issuedAt: Date.now() - MAX_LIFETIME_MS - 1000,
    expiresAt: Date.now() + 60_000,
  });
  assert.equal(await auth.identify(old), null, 'older than service_account_max_lifetime');
  const revokedFirst = await codec.sign({ kind: 'service-account', name: 'ci', groups: [], expiresAt: Date.now() + 60_000, jti: 'jti-revoked' });
  assert.equal(await auth.identify(revokedFirst), null, 'already on the deny list when first seen');
});

test('bearerToken reads only a well-formed Bearer header', () => {
  assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
  assert.equal(bearerToken('bearer abc'), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test('a workload token is verified once and then served from the memo, for the routes that allow its issuer only', async () => {
  const counters = createHotPathCounters();
  const workloadAuth = createBearerAuth({
    config: {
      idp: { issuer, clientId: 'vallum', allowInsecureHttp: true },
      sharedSecret: SECRET,
      serviceAccountMaxLifetimeMs: MAX_LIFETIME_MS,
      jwtIssuers: [
        {
          issuer: 'https://k8s.example',
          audiences: ['vallum'],
          jwksUrl: `${issuer}/jwks`,
          subjectClaim: 'sub',
          groupsClaim: 'groups',
          allowInsecureHttp: true,
        },
      ],
      routes: [
        { id: 'deploy', allowJwtIssuers: ['https://k8s.example'] },
        { id: 'app', allowJwtIssuers: [] },
      ],
    } as unknown as VallumConfig,
    sessions,
    cache: { isApiTokenRevoked: async () => false },
    counters,
  });
  const token = await idpToken({ iss: 'https://k8s.example', sub: 'system:serviceaccount:ci:deployer', email: 'root@example.com' });
  assert.equal(workloadAuth.peek(token, 'deploy'), undefined, 'nothing memoised yet');
  const first = await workloadAuth.identify(token, 'deploy');
  assert.equal(first?.email, '', 'a workload issuer vouches for no mailbox');
  assert.equal(first?.claims.via, 'jwt-issuer');
  for (let i = 0; i < 5; i++) assert.equal(await workloadAuth.identify(token, 'deploy'), first);
  assert.equal(workloadAuth.peek(token, 'deploy'), first);
  assert.equal(counters.bearerVerifies, 1, 'verified once');
  assert.equal(await workloadAuth.identify(token, 'app'), null);
  assert.equal(workloadAuth.peek(token, 'app'), null);
  assert.equal(await workloadAuth.identify(token), null, 'no route, no workload identity');
  assert.equal(counters.bearerVerifies, 1, 'a refusal for the route is not a second verification');
});
