import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, evaluatePolicy, routeDecision, validatePolicy, type Identity } from './index.js';

const request = { method: 'GET', host: 'app.localhost:8000', path: '/' };
const eve: Identity = { sub: 'e', email: 'eve@example.com', groups: ['engineering'], claims: {} };
const carl: Identity = { sub: 'c', email: 'carl@example.com', groups: ['engineering', 'contractors'], claims: {} };
const sam: Identity = { sub: 's', email: 'sam@example.com', groups: ['sales'], claims: {} };
const decide = (policy: unknown, who: Identity) => evaluatePolicy(compilePolicy(policy), who, request, 0);

test('not (NAND): allows unless every criterion matches; deny with not', () => {
  const policy = { allow: { not: [{ groups: 'contractors' }, { groups: 'engineering' }] } };
  assert.equal(decide(policy, eve).allow, true);
  assert.deepEqual(
    decide(policy, eve).reasons.map((r) => r.code),
    ['negation-ok'],
  );
  assert.equal(decide(policy, carl).allow, false);
  assert.equal(decide(policy, carl).reasons[0]?.message, 'requires not (member of group contractors and member of group engineering)');
  const deny = { allow: { or: [{ accept: true }] }, deny: { not: [{ domain: 'example.com' }] } };
  assert.equal(decide(deny, eve).allow, true);
  assert.equal(decide(deny, { ...eve, email: 'x@other.org' }).allow, false);
});

test('nor: allows only when no criterion matches; deny with nor', () => {
  const policy = { allow: { nor: [{ groups: 'contractors' }, { groups: 'sales' }] } };
  assert.equal(decide(policy, eve).allow, true);
  assert.equal(decide(policy, carl).allow, false);
  assert.equal(decide(policy, sam).allow, false);
  const deny = { allow: { or: [{ accept: true }] }, deny: { nor: [{ groups: 'engineering' }, { groups: 'sales' }] } };
  assert.equal(decide(deny, sam).allow, true);
  assert.equal(decide(deny, { ...sam, groups: [] }).reasons[0]?.message, 'denied: not (member of group engineering or member of group sales)');
});

test('and / or: allow and deny, reasons', () => {
  const policy = { allow: { and: [{ domain: 'example.com' }, { groups: 'engineering' }] }, deny: { or: [{ groups: 'contractors' }, { email: 'x@y.z' }] } };
  assert.deepEqual(
    decide(policy, eve).reasons.map((r) => r.code),
    ['domain-ok', 'groups-ok'],
  );
  assert.deepEqual(
    decide(policy, sam).reasons.map((r) => r.code),
    ['groups-unauthorized', 'no-rule-matched'],
  );
  assert.deepEqual(decide(policy, carl).reasons, [{ code: 'deny-matched', message: 'denied: member of group contractors' }]);
});

test('nesting: operators inside operators, several levels deep', () => {
  const policy = {
    allow: {
      and: [
        { domain: 'example.com' },
        { or: [{ groups: 'engineering' }, { and: [{ groups: 'sales' }, { http_method: 'GET' }] }] },
        { nor: [{ groups: 'contractors' }] },
      ],
    },
  };
  assert.equal(decide(policy, eve).allow, true);
  assert.equal(decide(policy, sam).allow, true);
  assert.equal(evaluatePolicy(compilePolicy(policy), sam, { ...request, method: 'POST' }, 0).allow, false);
  assert.equal(decide(policy, carl).allow, false);
  assert.deepEqual(validatePolicy({ deny: { or: [{ not: [{ and: [{ email: 'a@b.c' }] }] }] } }), []);
  assert.deepEqual(validatePolicy({ allow: { or: [{ nor: [{ emial: 'a@b.c' }] }] } })[0]?.path, ['allow', 'or', 0, 'nor', 0]);
});

test('a block with several operators needs all of them', () => {
  const policy = { allow: { or: [{ groups: 'engineering' }, { groups: 'sales' }], not: [{ groups: 'contractors' }] } };
  assert.equal(decide(policy, eve).allow, true);
  assert.equal(decide(policy, carl).allow, false);
});

test('named policies: use resolves by name, unknown names get a did-you-mean', () => {
  const named = new Map([['engineering-only', compilePolicy({ allow: { or: [{ groups: 'engineering' }] } })]]);
  const policy = compilePolicy({ use: 'engineering-only' }, { named });
  assert.equal(evaluatePolicy(policy, eve, request, 0).allow, true);
  assert.equal(evaluatePolicy(policy, sam, request, 0).allow, false);
  assert.match(
    validatePolicy({ use: 'engineering-onyl' }, { named })[0]?.message ?? '',
    /unknown named policy 'engineering-onyl' \(did you mean 'engineering-only'\?\)/,
  );
  assert.deepEqual(validatePolicy({ use: 'anything' }), [], 'without the names only the shape is checked');
  assert.throws(() => compilePolicy({ use: 'anything' }), /no named policies here/);
  assert.match(validatePolicy({ use: 'x', allow: { or: [{ accept: true }] } })[0]?.message ?? '', /cannot be combined/);
});

test('global policy: its deny applies to every route, its allow must pass too; public routes skip it', () => {
  const global = compilePolicy({ allow: { or: [{ domain: 'example.com' }] }, deny: { or: [{ groups: 'contractors' }] } });
  const anyone = { allowPublicUnauthenticatedAccess: false, allowAnyAuthenticatedUser: true, global };
  assert.equal(routeDecision(anyone, eve, request, 0).allow, true);
  assert.equal(routeDecision(anyone, carl, request, 0).reasons[0]?.code, 'deny-matched');
  assert.deepEqual(
    routeDecision(anyone, { ...eve, email: 'eve@other.org' }, request, 0).reasons.map((r) => r.code),
    ['domain-unauthorized', 'no-rule-matched'],
  );
  const denyOnly = compilePolicy({ deny: { or: [{ groups: 'contractors' }] } });
  const policyRoute = {
    allowPublicUnauthenticatedAccess: false,
    allowAnyAuthenticatedUser: false,
    global: denyOnly,
    policy: compilePolicy({ allow: { or: [{ groups: 'sales' }] } }),
  };
  assert.equal(routeDecision(policyRoute, sam, request, 0).allow, true, 'a deny-only global lets the route decide');
  assert.equal(routeDecision(policyRoute, eve, request, 0).allow, false);
  assert.equal(routeDecision({ allowPublicUnauthenticatedAccess: true, allowAnyAuthenticatedUser: false, global }, null, request, 0).allow, true);
});

test('shadow mode: enforce: false allows a would-deny, marks it, and keeps the reasons', () => {
  const policy = compilePolicy({ enforce: false, allow: { or: [{ groups: 'engineering' }] } });
  const decision = evaluatePolicy(policy, sam, request, 0);
  assert.equal(decision.allow, true);
  assert.equal(decision.shadow, true);
  assert.deepEqual(
    decision.reasons.map((r) => r.code),
    ['shadow-allow', 'groups-unauthorized', 'no-rule-matched'],
  );
  assert.equal(evaluatePolicy(policy, eve, request, 0).shadow, undefined, 'an allow is not a shadow allow');
  assert.equal(evaluatePolicy(policy, null, request, 0).allow, false, 'shadow mode never lets an anonymous request in');
  const route = {
    allowPublicUnauthenticatedAccess: false,
    allowAnyAuthenticatedUser: false,
    enforce: false,
    policy: compilePolicy({ allow: { or: [{ groups: 'engineering' }] } }),
  };
  assert.equal(routeDecision(route, sam, request, 0).shadow, true);
  assert.equal(routeDecision({ ...route, enforce: true }, sam, request, 0).allow, false);
  const global = compilePolicy({ enforce: false, deny: { or: [{ groups: 'sales' }] } });
  const shadowGlobal = routeDecision({ allowPublicUnauthenticatedAccess: false, allowAnyAuthenticatedUser: true, global }, sam, request, 0);
  assert.equal(shadowGlobal.allow && shadowGlobal.shadow, true);
});
