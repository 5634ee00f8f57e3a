import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, evaluatePolicy, type Identity } from './index.js';

const request = { method: 'GET', host: 'app.localhost:8000', path: '/' };
const user = (over: Partial<Identity> = {}): Identity => ({
  sub: 'u1',
  email: 'Alice@Example.com',
  groups: ['admins', 'engineering'],
  claims: { department: 'engineering', level: 3, roles: ['viewer', 'editor'], verified: true },
  ...over,
});

/** Allow decision of a one-criterion allow policy. */
function allows(criterion: Record<string, unknown>, identity: Identity): { allow: boolean; codes: string[]; messages: string[] } {
  const decision = evaluatePolicy(compilePolicy({ allow: { or: [criterion] } }), identity, request, 0);
  return { allow: decision.allow, codes: decision.reasons.map((r) => r.code), messages: decision.reasons.map((r) => r.message) };
}

/** Whether a one-criterion deny block (next to an allow-everyone block) denies. */
function denies(criterion: Record<string, unknown>, identity: Identity): boolean {
  const policy = compilePolicy({ allow: { or: [{ authenticated_user: true }] }, deny: { or: [criterion] } });
  const decision = evaluatePolicy(policy, identity, request, 0);
  if (!decision.allow) assert.equal(decision.reasons[0]?.code, 'deny-matched');
  return !decision.allow;
}

test('email is: matches case-insensitively, reasons email-ok / email-unauthorized', () => {
  assert.deepEqual(allows({ email: { is: 'alice@example.COM' } }, user()).codes, ['email-ok']);
  const refused = allows({ email: { is: 'bob@example.com' } }, user());
  assert.equal(refused.allow, false);
  assert.deepEqual(refused.codes, ['email-unauthorized', 'no-rule-matched']);
  assert.ok(!refused.messages.join(' ').includes('bob@'), 'a refused user is not told which addresses are allowed');
  assert.equal(denies({ email: { is: 'alice@example.com' } }, user()), true);
  assert.equal(denies({ email: { is: 'bob@example.com' } }, user()), false);
});

test('email shorthand means is', () => {
  assert.equal(allows({ email: 'alice@example.com' }, user()).allow, true);
  assert.equal(allows({ email: 'bob@example.com' }, user()).allow, false);
});

test('email in: any listed address', () => {
  assert.equal(allows({ email: { in: ['bob@example.com', 'ALICE@example.com'] } }, user()).allow, true);
  assert.equal(allows({ email: { in: ['bob@example.com'] } }, user()).allow, false);
  assert.equal(denies({ email: { in: ['alice@example.com'] } }, user()), true);
  assert.equal(denies({ email: { in: ['bob@example.com'] } }, user()), false);
});

test('domain is / in: compared case-insensitively, reasons domain-ok / domain-unauthorized', () => {
  const ok = allows({ domain: { is: 'EXAMPLE.com' } }, user());
  assert.deepEqual(ok, { allow: true, codes: ['domain-ok'], messages: ['allowed: email domain example.com'] });
  const refused = allows({ domain: { is: 'corp.com' } }, user());
  assert.deepEqual(refused.codes, ['domain-unauthorized', 'no-rule-matched']);
  assert.equal(refused.messages[0], 'requires an email address at corp.com');
  assert.equal(allows({ domain: { in: ['corp.com', 'example.com'] } }, user()).allow, true);
  assert.equal(allows({ domain: { in: ['corp.com'] } }, user()).allow, false);
  assert.equal(allows({ domain: 'example.com' }, user()).allow, true);
  assert.equal(denies({ domain: { is: 'example.com' } }, user()), true);
  assert.equal(denies({ domain: { in: ['corp.com'] } }, user()), false);
});

test('regression: an email with two @ matches no domain, whichever part is tried', () => {
  for (const email of ['mallory@corp.com@example.com', 'mallory@example.com@corp.com', '@example.com', 'example.com']) {
    const identity = user({ email });
    assert.equal(allows({ domain: { is: 'example.com' } }, identity).allow, false, email);
    assert.equal(allows({ domain: { is: 'corp.com' } }, identity).allow, false, email);
    assert.equal(denies({ domain: { is: 'example.com' } }, identity), false, email);
  }
});

test('a subdomain or a domain suffix is not the domain', () => {
  assert.equal(allows({ domain: { is: 'example.com' } }, user({ email: 'a@evil-example.com' })).allow, false);
  assert.equal(allows({ domain: { is: 'example.com' } }, user({ email: 'a@sub.example.com' })).allow, false);
});

test('groups has / has_any / has_all, reasons groups-ok / groups-unauthorized', () => {
  assert.deepEqual(allows({ groups: { has: 'admins' } }, user()), {
    allow: true,
    codes: ['groups-ok'],
    messages: ['allowed: member of group admins'],
  });
  const refused = allows({ groups: { has: 'finance' } }, user());
  assert.deepEqual(refused.codes, ['groups-unauthorized', 'no-rule-matched']);
  assert.equal(refused.messages[0], 'requires group finance');
  assert.equal(allows({ groups: 'admins' }, user()).allow, true, 'shorthand means has');
  assert.equal(allows({ groups: { has: 'Admins' } }, user()).allow, false, 'group names are exact');

  assert.equal(allows({ groups: { has_any: ['finance', 'engineering'] } }, user()).allow, true);
  assert.equal(allows({ groups: { has_any: ['finance', 'legal'] } }, user()).messages[0], 'requires group finance or legal');

  assert.equal(allows({ groups: { has_all: ['admins', 'engineering'] } }, user()).allow, true);
  const partial = allows({ groups: { has_all: ['admins', 'finance'] } }, user());
  assert.equal(partial.allow, false);
  assert.equal(partial.messages[0], 'requires groups admins and finance');

  assert.equal(denies({ groups: { has: 'admins' } }, user()), true);
  assert.equal(denies({ groups: { has: 'contractors' } }, user()), false);
  assert.equal(denies({ groups: { has_any: ['contractors', 'engineering'] } }, user()), true);
  assert.equal(denies({ groups: { has_any: ['contractors'] } }, user()), false);
  assert.equal(denies({ groups: { has_all: ['admins', 'engineering'] } }, user()), true);
  assert.equal(denies({ groups: { has_all: ['admins', 'contractors'] } }, user()), false);
});

test('groups from a misbehaving IdP (not a list) match nothing instead of throwing', () => {
  const odd = user({ groups: 'admins' as unknown as string[] });
  assert.equal(allows({ groups: { has: 'admins' } }, odd).allow, false);
});

test('claim/<name> is / in / has, reasons claim-ok / claim-unauthorized', () => {
  assert.deepEqual(allows({ 'claim/department': { is: 'engineering' } }, user()).codes, ['claim-ok']);
  const refused = allows({ 'claim/department': { is: 'sales' } }, user());
  assert.deepEqual(refused.codes, ['claim-unauthorized', 'no-rule-matched']);
  assert.equal(refused.messages[0], 'requires claim department sales');
  assert.equal(allows({ 'claim/department': 'engineering' }, user()).allow, true, 'shorthand means is');
  assert.equal(allows({ 'claim/level': { is: 3 } }, user()).allow, true);
  assert.equal(allows({ 'claim/level': { is: '3' } }, user()).allow, false, 'claims compare exactly');
  assert.equal(allows({ 'claim/verified': { is: true } }, user()).allow, true);
  assert.equal(allows({ 'claim/missing': { is: 'x' } }, user()).allow, false);

  assert.equal(allows({ 'claim/department': { in: ['sales', 'engineering'] } }, user()).allow, true);
  assert.equal(allows({ 'claim/department': { in: ['sales'] } }, user()).allow, false);

  assert.equal(allows({ 'claim/roles': { has: 'editor' } }, user()).allow, true);
  assert.equal(allows({ 'claim/roles': { has: 'owner' } }, user()).allow, false);
  assert.equal(allows({ 'claim/department': { has: 'engineering' } }, user()).allow, false, 'has needs an array claim');
  assert.equal(allows({ 'claim/roles': { is: 'editor' } }, user()).allow, false, 'is does not look inside arrays');

  assert.equal(denies({ 'claim/department': { is: 'engineering' } }, user()), true);
  assert.equal(denies({ 'claim/department': { in: ['sales'] } }, user()), false);
  assert.equal(denies({ 'claim/roles': { has: 'viewer' } }, user()), true);
  assert.equal(denies({ 'claim/roles': { has: 'owner' } }, user()), false);
});

test('claim/<name> reads own claims only, never Object.prototype', () => {
  assert.equal(allows({ 'claim/constructor': { is: 'x' } }, user()).allow, false);
  assert.equal(allows({ 'claim/toString': { in: ['x'] } }, user()).allow, false);
});

test('authenticated_user: true allows any signed-in user (user-ok)', () => {
  assert.deepEqual(allows({ authenticated_user: true }, user()), { allow: true, codes: ['user-ok'], messages: ['signed in'] });
  assert.equal(denies({ authenticated_user: true }, user()), true);
});
