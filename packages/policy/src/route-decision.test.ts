import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, routeDecision, type Identity } from './index.js';

const request = { method: 'GET', host: 'app.localhost:8000', path: '/' };
const alice: Identity = { sub: 'a', email: 'alice@example.com', groups: ['contractors'], claims: {} };
const bob: Identity = { sub: 'b', email: 'bob@example.com', groups: [], claims: {} };
const route = { allowPublicUnauthenticatedAccess: false, allowAnyAuthenticatedUser: false };

test('a public route allows everyone, signed in or not', () => {
  const decision = routeDecision({ ...route, allowPublicUnauthenticatedAccess: true }, null, request, 0);
  assert.deepEqual(decision, { allow: true, reasons: [{ code: 'public-route', message: 'public route' }] });
});

test('allow_any_authenticated_user allows any identity and refuses anonymous', () => {
  const any = { ...route, allowAnyAuthenticatedUser: true };
  assert.deepEqual(routeDecision(any, bob, request, 0), { allow: true, reasons: [{ code: 'user-ok', message: 'signed in' }] });
  assert.deepEqual(routeDecision(any, null, request, 0), {
    allow: false,
    reasons: [{ code: 'user-unauthenticated', message: 'sign in required' }],
  });
});

test('allow_any_authenticated_user with a policy: the policy deny still wins, its allow is not needed', () => {
  const policy = compilePolicy({ allow: { or: [{ groups: 'admins' }] }, deny: { or: [{ groups: { has: 'contractors' } }] } });
  const any = { ...route, allowAnyAuthenticatedUser: true, policy };
  assert.deepEqual(routeDecision(any, alice, request, 0).reasons, [{ code: 'deny-matched', message: 'denied: member of group contractors' }]);
  assert.equal(routeDecision(any, bob, request, 0).allow, true);
});

test('otherwise the policy decides, and a route with no rule at all stays closed', () => {
  const policy = compilePolicy({ allow: { or: [{ email: 'bob@example.com' }] } });
  assert.equal(routeDecision({ ...route, policy }, bob, request, 0).allow, true);
  assert.equal(routeDecision({ ...route, policy }, alice, request, 0).allow, false);
  assert.deepEqual(routeDecision(route, bob, request, 0), { allow: false, reasons: [{ code: 'no-rule-matched', message: 'no allow rule matched' }] });
});
