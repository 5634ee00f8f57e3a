// The access check's warm path: once the cookie, session, decision and assertion are known, `tryCheck` answers
// without a promise and with what `check` would say; anything it does not know sends the caller to `check`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '@vallum/config';
import type { Decision } from '@vallum/policy';
import type { AuthorizeApi, AuthorizeRequest, CacheViewApi } from '@vallum/service-client';
import { createSessionCookieCodec, type Session } from '@vallum/session';
import { createAccessCheck, type AccessRequest } from './access.js';
import { createAssertionSigner, createKeyRing } from './assertion.js';
import { createSessionResolver } from './session-resolver.js';

const config = loadConfigText(
  `authenticate_service_url: https://auth.example.com
idp: { issuer: "https://idp.example.com", client_id: c, client_secret: s }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
routes:
  - from: https://app.example.com
    to: http://127.0.0.1:1
    policy: { allow: { or: [ { groups: { has: admins } } ] } }
`,
  'access.test.yaml',
  { env: {} },
);
const route = config.routes[0]!;
const now = Date.now();
const alice: Session = { id: 'sid-a', sub: 'alice', email: 'alice@example.com', groups: ['admins'], claims: {}, createdAt: now, expiresAt: now + 3_600_000 };
const bob: Session = { ...alice, id: 'sid-b', sub: 'bob', email: 'bob@example.com', groups: ['staff'] };

async function setUp(options: { peek?: boolean; readsHeaders?: boolean } = {}) {
  const stored = new Map([alice, bob].map((s) => [s.id, s]));
  const listeners: Array<(sid: string) => void> = [];
  const calls = { getSession: 0, evaluate: 0, inputs: [] as AuthorizeRequest[] };
  const cache = {
    getSession: async (id: string) => {
      calls.getSession++;
      return stored.get(id) ?? null;
    },
    touchSession: async () => true,
    subscribe: (l: (sid: string) => void) => {
      listeners.push(l);
      return () => {};
    },
  } as unknown as CacheViewApi;
  const decide = (input: AuthorizeRequest): Decision => {
    calls.inputs.push(input);
    const allow = input.identity?.groups.includes('admins') === true;
    return { allow, reasons: [{ code: allow ? 'ALLOW' : 'DENY', message: allow ? 'in admins' : 'not in admins' }] } as Decision;
  };
  const authorize: AuthorizeApi = {
    evaluate: async (input) => {
      calls.evaluate++;
      return decide(input);
    },
    ...(options.peek === false ? {} : { peek: decide }),
    readsHeaders: () => options.readsHeaders === true,
  };
  const cookies = createSessionCookieCodec(config.cookieSecret);
  const sessions = createSessionResolver({ cache, cookies, config });
  const assertions = await createAssertionSigner({ sharedSecret: config.sharedSecret, keyRing: createKeyRing() });
  const access = createAccessCheck({ config, authorize, sessions, cache, assertions });
  const cookieOf = (s: Session) => cookies.seal({ sid: s.id, expiresAt: s.expiresAt });
  const request = (cookie: string | undefined, headers: Record<string, string> = {}): AccessRequest => ({
    route,
    host: 'app.example.com',
    method: 'GET',
    path: '/',
    rawUrl: '/',
    cookie,
    headers: { cookie: `vallum=${cookie}`, ...headers },
  });
  const changed = (sid: string) => listeners.forEach((l) => l(sid));
  return { access, calls, cookieOf, request, changed, stored };
}

test('a cold request waits; once warm, the same answer comes without a promise or a store read', async () => {
  const { access, calls, cookieOf, request } = await setUp();
  const req = request(await cookieOf(alice));
  assert.equal(access.tryCheck(req), undefined);
  const first = await access.check(req);
  assert.equal(first.kind, 'forward');
  const warm = access.tryCheck(req);
  assert.ok(warm && warm.kind === 'forward' && first.kind === 'forward');
  assert.equal(warm.identity, first.identity, 'the same identity-header object, so its header lines are built once');
  assert.equal(warm.identity?.email, 'alice@example.com');
  assert.equal(warm.dropAuthorization, false);
  assert.equal(calls.getSession, 1);
  access.close();
});

test('a warm denial is answered at once too', async () => {
  const { access, cookieOf, request } = await setUp();
  const req = request(await cookieOf(bob));
  assert.equal((await access.check(req)).kind, 'deny');
  assert.equal(access.tryCheck(req)?.kind, 'deny');
  access.close();
});

test('a session the store reports changed is read again', async () => {
  const { access, calls, cookieOf, request, changed, stored } = await setUp();
  const req = request(await cookieOf(alice));
  await access.check(req);
  assert.ok(access.tryCheck(req));
  stored.delete(alice.id);
  changed(alice.id);
  assert.equal(access.tryCheck(req), undefined);
  assert.equal((await access.check(req)).kind, 'sign-in');
  assert.equal(calls.getSession, 2);
  access.close();
});

test('no cookie, or a forged one, is never answered from in-process copies', async () => {
  const { access, request } = await setUp();
  for (const cookie of [undefined, 'forged.cookie.value', 'forged.cookie.value']) {
    assert.equal(access.tryCheck(request(cookie)), undefined);
    assert.equal((await access.check(request(cookie))).kind, 'sign-in');
  }
  access.close();
});

test('an authorize service without a synchronous answer is asked every time', async () => {
  const { access, calls, cookieOf, request } = await setUp({ peek: false });
  const req = request(await cookieOf(alice));
  await access.check(req);
  assert.equal(access.tryCheck(req), undefined);
  assert.equal((await access.check(req)).kind, 'forward');
  assert.equal(calls.evaluate, 2);
  access.close();
});

test('request headers reach the policy only when it reads them, and never the credentials', async () => {
  for (const readsHeaders of [false, true]) {
    const { access, calls, cookieOf, request } = await setUp({ readsHeaders });
    await access.check(request(await cookieOf(alice), { 'x-team': 'blue', authorization: 'Basic eA==' }));
    const headers = calls.inputs.at(-1)!.request.headers!;
    if (readsHeaders) assert.deepEqual(headers, { 'x-team': 'blue' });
    else assert.deepEqual(headers, {});
    access.close();
  }
});

test("a session of another IdP than the route accepts is sent to sign in at the route's IdPs, warm or cold", async () => {
  const { access, cookieOf, request, stored } = await setUp();
  const partnersOnly = { ...route, idps: ['partners'] };
  const either = { ...route, idps: ['default', 'partners'] };
  const atDefault = { ...request(await cookieOf(alice)), route: partnersOnly };
  const cold = await access.check(atDefault);
  assert.equal(cold.kind, 'sign-in');
  assert.ok(cold.kind === 'sign-in');
  const to = new URL(cold.location);
  assert.deepEqual(
    [to.pathname, to.searchParams.get('redirect_uri'), to.searchParams.getAll('idp')],
    ['/.vallum/sign_in', 'https://app.example.com/', ['partners']],
  );
  assert.equal(cold.clearCookie, false, 'the hand-off replaces the cookie; another route of the host may still use it');
  assert.deepEqual(access.tryCheck(atDefault), cold, 'warm: the same answer');
  assert.equal((await access.check({ ...atDefault, route: either })).kind, 'forward');

  const carol: Session = { ...alice, id: 'sid-c', idp: 'partners' };
  stored.set(carol.id, carol);
  const atPartners = request(await cookieOf(carol));
  const back = await access.check(atPartners);
  assert.ok(back.kind === 'sign-in');
  assert.deepEqual(new URL(back.location).searchParams.getAll('idp'), [], 'the default IdP needs no name');
  assert.equal((await access.check({ ...atPartners, route: partnersOnly })).kind, 'forward');
  assert.equal(await access.mayOpen(carol, route), false);
  assert.equal(await access.mayOpen(carol, partnersOnly), true);
});
