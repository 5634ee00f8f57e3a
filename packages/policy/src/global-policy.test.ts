import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, compileSharedPolicies, routeDecision, type Identity } from './index.js';

const request = { method: 'GET', host: 'app.localhost:8000', path: '/.vallum/admin/v1/users/x/sessions' };
const admin: Identity = { sub: 'a', email: 'alice@example.com', groups: ['admins', 'quarantined'], claims: {} };

test('a global policy that uses a named policy compiles outside the authorizer, and its deny wins over an allowing rule', () => {
  const { global } = compileSharedPolicies({
    namedPolicies: [{ name: 'no-quarantine', value: { deny: { or: [{ groups: { has: 'quarantined' } }] } } }],
    globalPolicy: { use: 'no-quarantine' },
  });
  const policy = compilePolicy({ allow: { or: [{ groups: { has: 'admins' } }] } });
  const rule = { allowPublicUnauthenticatedAccess: false, allowAnyAuthenticatedUser: false, policy };
  assert.equal(routeDecision(rule, admin, request, 0).allow, true);
  assert.equal(routeDecision({ ...rule, global }, admin, request, 0).allow, false);
  assert.equal(routeDecision({ ...rule, global }, { ...admin, groups: ['admins'] }, request, 0).allow, true);
  assert.equal(compileSharedPolicies({ namedPolicies: [], globalPolicy: undefined }).global, undefined);
});
