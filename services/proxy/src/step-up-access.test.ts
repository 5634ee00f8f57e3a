// Step-up in the access check: a session too old (max_session_age) or with another acr (acr_values) for its route is
// sent to sign in again with the route's requirement on the link, its cookie kept; one that meets it goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '@vallum/config';
import type { AuthorizeApi, CacheViewApi } from '@vallum/service-client';
import { createApiTokenCodec, createSessionCookieCodec, type Session } from '@vallum/session';
import { createAccessCheck, type AccessRequest } from './access.js';
import { createAssertionSigner, createKeyRing } from './assertion.js';
import { createSessionResolver } from './session-resolver.js';

const config = loadConfigText(
  `authenticate_service_url: https://auth.example.com
idp: { issuer: "https://idp.example.com", client_id: c, client_secret: s }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
routes:
  - from: https://pay.example.com
    to: http://127.0.0.1:1
    max_session_age: 15m
    acr_values: [urn:mfa, urn:hwk]
    allow_any_authenticated_user: true
`,
  'step-up.test.yaml',
  { env: {} },
);
const route = config.routes[0]!;
const now = Date.now();
const base: Session = { id: 'fresh', sub: 'alice', email: 'alice@example.com', groups: [], claims: {}, createdAt: now - 3_600_000, expiresAt: now + 3_600_000 };
const sessions: Session[] = [
  { ...base, authTime: now - 60_000, acr: 'urn:mfa' },
  { ...base, id: 'old', authTime: now - 20 * 60_000, acr: 'urn:mfa' },
  { ...base, id: 'weak', authTime: now - 60_000, acr: 'urn:pwd' },
  { ...base, id: 'no-auth-time', acr: 'urn:hwk' },
];

test('a session too old or too weak for the route signs in again with max_age and acr_values; its cookie stays', async () => {
  const stored = new Map(sessions.map((s) => [s.id, s]));
  const cache = {
    getSession: async (id: string) => stored.get(id) ?? null,
    touchSession: async () => true,
    subscribe: () => () => {},
    isApiTokenRevoked: async () => false,
  } as unknown as CacheViewApi;
  const authorize: AuthorizeApi = { evaluate: async () => ({ allow: true, reasons: [] }), readsHeaders: () => false };
  const cookies = createSessionCookieCodec(config.cookieSecret);
  const resolver = createSessionResolver({ cache, cookies, config });
  const assertions = await createAssertionSigner({ sharedSecret: config.sharedSecret, keyRing: createKeyRing() });
  const access = createAccessCheck({ config, authorize, sessions: resolver, cache, assertions });
  const check = async (id: string) => {
    const cookie = await cookies.seal({ sid: id, expiresAt: base.expiresAt });
    const request: AccessRequest = { route, host: 'pay.example.com', method: 'GET', path: '/pay', rawUrl: '/pay?x=1', cookie };
    return access.check(request);
  };
  assert.equal((await check('fresh')).kind, 'forward');
  for (const id of ['old', 'weak', 'no-auth-time']) {
    const result = await check(id);
    assert.equal(result.kind, 'sign-in', id);
    if (result.kind !== 'sign-in') continue;
    assert.equal(result.clearCookie, false, `${id}: the session is kept for the step-up`);
    const link = new URL(result.location);
    assert.equal(link.searchParams.get('redirect_uri'), 'https://pay.example.com/pay?x=1');
    assert.equal(link.searchParams.get('max_age'), '900');
    assert.equal(link.searchParams.get('acr_values'), 'urn:mfa urn:hwk');
  }
  // A bearer token cannot sign in again: 403 with the reason, not a sign-in redirect.
  const token = await createApiTokenCodec(config.sharedSecret).sign({ kind: 'service-account', name: 'ci', groups: [], expiresAt: now + 60_000 });
  const viaToken = await access.check({
    route,
    host: 'pay.example.com',
    method: 'GET',
    path: '/',
    rawUrl: '/',
    cookie: undefined,
    authorization: `Bearer ${token}`,
  });
  assert.equal(viaToken.kind, 'deny');
  if (viaToken.kind === 'deny')
    assert.deepEqual(
      viaToken.reasons.map((r) => r.code),
      ['acr-unauthorized'],
    );
  const identity = access.identityOf(sessions[0]!);
  assert.deepEqual([identity.authTime, identity.acr], [now - 60_000, 'urn:mfa'], 'the policy sees the sign-in');
  assert.equal(access.identityOf(sessions[3]!).authTime, base.createdAt, "no auth_time: the session's start");
});
