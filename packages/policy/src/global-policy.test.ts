import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, routeDecision, type Identity } from './index.js';

const request = { method: 'GET', host: 'app.localhost:8000', path: '/.vallum/admin/v1/users/x/sessions' };
const admin: Identity = { sub: 'a', email: 'alice@example.com', groups: ['admins', 'quarantined'], claims: {} };

test("a global policy's deny (through a named policy) wins over a rule that allows", () => {
  const named = new Map([['no-quarantine', compilePolicy({ deny: { or: [{ groups: { has: 'quarantined' } }] } })]]);
  const global = compilePolicy({ use: 'no-quarantine' }, { named });
  const policy = compilePolicy({ allow: { or: [{ groups: { has: 'admins' } }] } });
  const rule = { allowPublicUnauthenticatedAccess: false, allowAnyAuthenticatedUser: false, policy };
  assert.equal(routeDecision(rule, admin, request, 0).allow, true);
  assert.equal(routeDecision({ ...rule, global }, admin, request, 0).allow, false);
  assert.equal(routeDecision({ ...rule, global }, { ...admin, groups: ['admins'] }, request, 0).allow, true);
});
