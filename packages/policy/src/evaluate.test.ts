import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, evaluatePolicy, type Identity } from './index.js';

const request = { method: 'GET', host: 'app.localhost:8000', path: '/' };
const alice: Identity = { sub: 'a', email: 'alice@example.com', groups: ['admins', 'contractors'], claims: {} };
const bob: Identity = { sub: 'b', email: 'bob@example.com', groups: ['engineering'], claims: {} };

test('deny wins over a matching allow, and says which criterion denied', () => {
  const policy = compilePolicy({
    allow: { or: [{ domain: { is: 'example.com' } }] },
    deny: { and: [{ groups: { has: 'contractors' } }] },
  });
  assert.deepEqual(evaluatePolicy(policy, alice, request, 0), {
    allow: false,
    reasons: [{ code: 'deny-matched', message: 'denied: member of group contractors' }],
  });
  assert.deepEqual(evaluatePolicy(policy, bob, request, 0), {
    allow: true,
    reasons: [{ code: 'domain-ok', message: 'allowed: email domain example.com' }],
  });
});

test('default deny: nothing matched lists what was required, then no-rule-matched', () => {
  const policy = compilePolicy({ allow: { or: [{ groups: { has: 'finance' } }, { domain: { is: 'corp.com' } }] } });
  assert.deepEqual(evaluatePolicy(policy, bob, request, 0), {
    allow: false,
    reasons: [
      { code: 'groups-unauthorized', message: 'requires group finance' },
      { code: 'domain-unauthorized', message: 'requires an email address at corp.com' },
      { code: 'no-rule-matched', message: 'no allow rule matched' },
    ],
  });
});

test('a policy with only deny blocks allows no one', () => {
  const policy = compilePolicy({ deny: { or: [{ groups: { has: 'contractors' } }] } });
  assert.deepEqual(evaluatePolicy(policy, bob, request, 0), {
    allow: false,
    reasons: [{ code: 'no-rule-matched', message: 'no allow rule matched' }],
  });
});

test('and needs every criterion; its reasons name each one that allowed', () => {
  const policy = compilePolicy({ allow: { and: [{ domain: 'example.com' }, { groups: { has: 'admins' } }] } });
  const decision = evaluatePolicy(policy, alice, request, 0);
  assert.equal(decision.allow, true);
  assert.deepEqual(
    decision.reasons.map((r) => r.code),
    ['domain-ok', 'groups-ok'],
  );
  const refused = evaluatePolicy(policy, bob, request, 0);
  assert.deepEqual(
    refused.reasons.map((r) => r.message),
    ['requires group admins', 'no allow rule matched'],
  );
});

test('and of an empty list never matches', () => {
  const policy = compilePolicy({ allow: { and: [] } });
  assert.deepEqual(evaluatePolicy(policy, alice, request, 0), {
    allow: false,
    reasons: [{ code: 'no-rule-matched', message: 'no allow rule matched' }],
  });
  const deny = compilePolicy({ allow: { or: [{ authenticated_user: true }] }, deny: { and: [] } });
  assert.equal(evaluatePolicy(deny, alice, request, 0).allow, true, 'an empty deny and denies no one');
});

test('a block holding both and and or needs both', () => {
  const policy = compilePolicy({
    allow: { and: [{ domain: 'example.com' }], or: [{ groups: { has: 'admins' } }, { groups: { has: 'finance' } }] },
  });
  assert.equal(evaluatePolicy(policy, alice, request, 0).allow, true);
  assert.deepEqual(
    evaluatePolicy(policy, bob, request, 0).reasons.map((r) => r.message),
    ['requires group admins', 'requires group finance', 'no allow rule matched'],
  );
});

test('allow and deny may be lists of blocks; any allow block allows, any deny block denies', () => {
  const policy = compilePolicy({
    allow: [{ and: [{ groups: { has: 'finance' } }] }, { or: [{ email: 'bob@example.com' }] }],
    deny: [{ or: [{ email: 'mallory@example.com' }] }, { and: [{ groups: { has: 'contractors' } }] }],
  });
  assert.equal(evaluatePolicy(policy, bob, request, 0).allow, true);
  assert.equal(evaluatePolicy(policy, alice, request, 0).reasons[0]?.code, 'deny-matched');
});

test('repeated requirements across blocks are reported once', () => {
  const policy = compilePolicy({ allow: [{ or: [{ groups: 'finance' }] }, { or: [{ groups: 'finance' }] }] });
  assert.deepEqual(
    evaluatePolicy(policy, bob, request, 0).reasons.map((r) => r.code),
    ['groups-unauthorized', 'no-rule-matched'],
  );
});

test('a null identity matches no criterion: denied as user-unauthenticated, deny blocks cannot allow it', () => {
  const cases = [
    { allow: { or: [{ authenticated_user: true }] } },
    { allow: { or: [{ domain: 'example.com' }] } },
    { deny: { or: [{ groups: { has: 'contractors' } }] } },
  ];
  for (const value of cases) {
    assert.deepEqual(evaluatePolicy(compilePolicy(value), null, request, 0), {
      allow: false,
      reasons: [{ code: 'user-unauthenticated', message: 'sign in required' }],
    });
  }
});

test('evaluation is pure: the same input gives the same decision and the compiled policy is frozen', () => {
  const policy = compilePolicy({ allow: { or: [{ groups: 'admins' }] } });
  assert.deepEqual(evaluatePolicy(policy, alice, request, 1), evaluatePolicy(policy, alice, request, 2));
  assert.ok(Object.isFrozen(policy) && Object.isFrozen(policy.allow) && Object.isFrozen(policy.allow[0]));
});

test('each decision gets its own reasons list: a caller changing one does not change the next decision', () => {
  const policy = compilePolicy({ allow: { and: [{ domain: 'example.com' }, { groups: { has: 'admins' } }] }, deny: { or: [{ email: 'bob@example.com' }] } });
  for (const who of [alice, bob]) {
    const first = evaluatePolicy(policy, who, request, 0);
    const expected = structuredClone(first);
    first.reasons.push({ code: 'x', message: 'x' });
    first.reasons.shift();
    assert.deepEqual(evaluatePolicy(policy, who, request, 0), expected, who.email);
  }
});
