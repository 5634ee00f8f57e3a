import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import type { RouteConfig } from '@vallum/config';
import type { Session } from '@vallum/session';
import { createAssertionSigner, createKeyRing } from './assertion.js';
import { upstreamRequestHeaders } from './director.js';
import { createIdentityHeaderBuilder, groupsIn, headerValue } from './identity-headers.js';

const route = {
  id: 'app',
  policy: { allow: { or: [{ groups: { has: 'admins' } }, { groups: { in: ['ops', 'sre'] } }, { email: 'x@y.z' }] } },
} as unknown as RouteConfig;
const now = Date.now();
const session = (groups: string[], claims: Record<string, unknown> = {}): Session => ({
  id: 's1',
  sub: 'u1',
  email: 'alice@example.com',
  groups,
  claims,
  createdAt: now,
  expiresAt: now + 3600_000,
});
const signer = await createAssertionSigner({ sharedSecret: 'x'.repeat(32), keyRing: createKeyRing() });

test('groupsIn finds every group name a policy mentions, and nothing else', () => {
  assert.deepEqual([...groupsIn(route.policy)].sort(), ['admins', 'ops', 'sre']);
  assert.equal(groupsIn(undefined).size, 0);
});

test('claim headers come from session claims, safe for HTTP', async () => {
  const builder = createIdentityHeaderBuilder(
    { jwtClaimsHeaders: { 'X-Email': 'email', 'X-Groups': 'groups', 'X-Dept': 'dept', 'X-Missing': 'nope' }, identityHeadersMaxBytes: 8192 },
    signer,
  );
  const h = await builder.build(session(['a', 'b'], { dept: 'R&D\r\nX-Evil: 1 – ünïcode' }), route, 'app.example');
  assert.deepEqual(h.extra, { 'X-Email': 'alice@example.com', 'X-Groups': 'a,b', 'X-Dept': `R&D%0D%0AX-Evil: 1 %E2%80%93 %C3%BCn%C3%AFcode` });
  assert.deepEqual([...builder.names].sort(), ['x-dept', 'x-email', 'x-groups', 'x-missing']);
  assert.equal(headerValue('\ud800'), '?');
});

test('over the budget, only the groups the policy mentions are sent, in the headers and in the assertion', async () => {
  const many = Array.from({ length: 500 }, (_, i) => `group-number-${i}`);
  const builder = createIdentityHeaderBuilder({ jwtClaimsHeaders: { 'X-Groups': 'groups' }, identityHeadersMaxBytes: 8192 }, signer);
  const h = await builder.build(session([...many, 'sre', 'admins']), route, 'app.example');
  assert.deepEqual(h.groups, ['sre', 'admins']);
  assert.equal(h.extra?.['X-Groups'], 'sre,admins');
  assert.deepEqual(decodeJwt(h.assertion).groups, ['sre', 'admins']);
  const small = await builder.build({ ...session(['a']), id: 's2' }, route, 'app.example');
  assert.deepEqual(decodeJwt(small.assertion).groups, ['a']);
});

test('a policy naming more groups than fit still never overflows the budget', async () => {
  const many = Array.from({ length: 2000 }, (_, i) => `group-number-${i}`);
  const greedy = { ...route, id: 'greedy', policy: { allow: { or: [{ groups: { in: many } }] } } } as RouteConfig;
  const builder = createIdentityHeaderBuilder({ jwtClaimsHeaders: {}, identityHeadersMaxBytes: 4096 }, signer);
  const h = await builder.build(session(many), greedy, 'app.example');
  const out = upstreamRequestHeaders({ headers: {}, cookieName: '_v', clientIp: undefined, proto: 'http', host: 'h', requestId: 'r', identity: h });
  const size = Object.entries(out)
    .filter(([k]) => k.startsWith('x-vallum-'))
    .reduce((n, [k, v]) => n + k.length + String(v).length + 4, 0);
  assert.ok(size <= 4096, `${size} bytes`);
  assert.ok(h.groups.length > 0);
});

test('client copies of claim headers are removed in any casing and with _ for -', () => {
  const out = upstreamRequestHeaders({
    headers: { 'x-email': 'mallory@evil.example', x_email: 'mallory@evil.example', 'x-other': 'kept' },
    cookieName: '_v',
    clientIp: undefined,
    proto: 'http',
    host: 'h',
    requestId: 'r',
    stripHeaders: new Set(['x-email']),
  });
  assert.equal(out['x-email'], undefined);
  assert.equal(out['x_email'], undefined);
  assert.equal(out['x-other'], 'kept');
});
