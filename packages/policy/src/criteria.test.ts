import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, evaluatePolicy, validatePolicy, type Identity, type RequestInfo } from './index.js';

const request = { method: 'GET', host: 'app.localhost:8000', path: '/' };
const user = (over: Partial<Identity> = {}): Identity => ({
  sub: 'u1',
  email: 'Alice@Example.com',
  groups: ['admins', 'engineering'],
  claims: { department: 'engineering', level: 3, roles: ['viewer', 'editor'], verified: true },
  ...over,
});

/** Allow decision of a one-criterion allow policy. */
function allows(
  criterion: Record<string, unknown>,
  identity: Identity,
  req: RequestInfo = request,
  now = 0,
): { allow: boolean; codes: string[]; messages: string[] } {
  const decision = evaluatePolicy(compilePolicy({ allow: { or: [criterion] } }), identity, req, now);
  return { allow: decision.allow, codes: decision.reasons.map((r) => r.code), messages: decision.reasons.map((r) => r.message) };
}

/** Whether a one-criterion deny block (next to an allow-everyone block) denies. */
function denies(criterion: Record<string, unknown>, identity: Identity, req: RequestInfo = request, now = 0): boolean {
  const policy = compilePolicy({ allow: { or: [{ authenticated_user: true }] }, deny: { or: [criterion] } });
  const decision = evaluatePolicy(policy, identity, req, now);
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

const at = (over: Partial<RequestInfo>): RequestInfo => ({ ...request, ...over });
const MON_0930_UTC = Date.parse('2026-11-23T09:30:00Z');
const SAT_2300_UTC = Date.parse('2026-11-28T23:00:00Z');

test('user (sub): is, in, ends_with, allow and deny', () => {
  assert.deepEqual(allows({ user: 'u1' }, user()).codes, ['user-id-ok']);
  assert.equal(allows({ user: { in: ['u2', 'u3'] } }, user()).allow, false);
  assert.equal(allows({ user: { ends_with: '1' } }, user()).allow, true);
  assert.equal(allows({ user: { is: 'U1' } }, user()).allow, false, 'subjects compare exactly');
  assert.equal(denies({ user: { in: ['u1'] } }, user()), true);
  assert.equal(denies({ user: { is: 'u9' } }, user()), false);
});

test('email and domain ends_with: at a boundary only', () => {
  assert.equal(allows({ email: { ends_with: '@example.com' } }, user()).allow, true);
  assert.equal(allows({ email: { ends_with: '@example.com' } }, user({ email: 'a@evilexample.com' })).allow, false);
  assert.match(validatePolicy({ allow: { or: [{ email: { ends_with: 'example.com' } }] } })[0]?.message ?? '', /starting with @ or \./);
  assert.equal(allows({ domain: { ends_with: 'example.com' } }, user({ email: 'a@eu.example.com' })).allow, true);
  assert.equal(allows({ domain: { ends_with: 'example.com' } }, user({ email: 'a@evilexample.com' })).allow, false);
  assert.equal(denies({ domain: { ends_with: '.example.com' } }, user({ email: 'a@eu.EXAMPLE.com' })), true);
  assert.equal(denies({ email: { ends_with: '.org' } }, user()), false);
});

test('accept and reject', () => {
  assert.deepEqual(allows({ accept: true }, user()).codes, ['accept']);
  assert.deepEqual(allows({ reject: true }, user()).codes, ['reject', 'no-rule-matched']);
  assert.equal(denies({ accept: true }, user()), true);
  assert.equal(denies({ reject: true }, user()), false);
  assert.match(validatePolicy({ allow: { or: [{ accept: 'yes' }] } })[0]?.message ?? '', /accept: expected true/);
});

test('http_method: is, in, bare list; case-insensitive', () => {
  assert.deepEqual(allows({ http_method: 'get' }, user(), at({ method: 'GET' })).codes, ['http-method-ok']);
  assert.equal(allows({ http_method: { in: ['GET', 'HEAD'] } }, user(), at({ method: 'POST' })).allow, false);
  assert.equal(allows({ http_method: ['GET', 'HEAD'] }, user(), at({ method: 'HEAD' })).allow, true);
  assert.equal(denies({ http_method: { in: ['DELETE', 'PUT'] } }, user(), at({ method: 'DELETE' })), true);
  assert.equal(denies({ http_method: 'DELETE' }, user(), at({ method: 'GET' })), false);
  assert.match(validatePolicy({ allow: { or: [{ http_method: 'GE T' }] } })[0]?.message ?? '', /HTTP method/);
});

test('http_path: is, starts_with, matches (anchored), ignore_case', () => {
  assert.deepEqual(allows({ http_path: '/docs' }, user(), at({ path: '/docs' })).codes, ['http-path-ok']);
  assert.equal(allows({ http_path: { is: '/docs' } }, user(), at({ path: '/docs/x' })).allow, false);
  assert.equal(allows({ http_path: { starts_with: '/docs/' } }, user(), at({ path: '/docs/x' })).allow, true);
  assert.equal(allows({ http_path: { matches: '/api/v[0-9]+/.*' } }, user(), at({ path: '/api/v2/users' })).allow, true);
  assert.equal(allows({ http_path: { matches: '/api' } }, user(), at({ path: '/x/api' })).allow, false, 'anchored');
  assert.equal(denies({ http_path: { starts_with: '/admin' } }, user(), at({ path: '/admin;x' })), true);
  assert.equal(denies({ http_path: { starts_with: '/admin' } }, user(), at({ path: '/ADMIN' })), false);
  assert.equal(denies({ http_path: { starts_with: '/admin', ignore_case: true } }, user(), at({ path: '/ADMIN' })), true);
  assert.equal(denies({ http_path: { is: '/Admin', ignore_case: true } }, user(), at({ path: '/admin' })), true);
  assert.match(validatePolicy({ allow: { or: [{ http_path: { matches: '(' } }] } })[0]?.message ?? '', /invalid regular expression/);
  assert.match(validatePolicy({ allow: { or: [{ http_path: { starts_with: '/a', ignore_cse: true } }] } })[0]?.message ?? '', /did you mean 'ignore_case'/);
  assert.match(validatePolicy({ allow: { or: [{ http_path: 'admin' }] } })[0]?.message ?? '', /starting with \//);
});

test('source_ip: CIDR lists, IPv4, IPv6, IPv4-mapped; ranges never shown', () => {
  const inside = at({ sourceIp: '10.1.2.3' });
  const refused = allows({ source_ip: ['192.168.0.0/16'] }, user(), inside);
  assert.deepEqual(refused.messages, ['requires access from an allowed network', 'no allow rule matched']);
  assert.equal(allows({ source_ip: ['10.0.0.0/8'] }, user(), inside).allow, true);
  assert.equal(allows({ source_ip: { in: ['10.0.0.0/8'] } }, user(), at({ sourceIp: '::ffff:10.9.9.9' })).allow, true);
  assert.equal(allows({ source_ip: '2001:db8::/32' }, user(), at({ sourceIp: '2001:db8::1' })).allow, true);
  assert.equal(allows({ source_ip: ['10.0.0.0/8'] }, user(), at({})).allow, false, 'no address never matches');
  assert.equal(denies({ source_ip: ['10.0.0.0/8'] }, user(), inside), true);
  assert.equal(denies({ source_ip: ['10.0.0.0/8'] }, user(), at({ sourceIp: '11.0.0.1' })), false);
  assert.match(validatePolicy({ allow: { or: [{ source_ip: ['10.0.0.0/33'] }] } })[0]?.message ?? '', /CIDR/);
});

test('header/<name>: is, in, starts_with, present; cookie and authorization refused', () => {
  const req = at({ headers: { 'x-team': 'blue', 'user-agent': 'curl/8' } });
  assert.deepEqual(allows({ 'header/X-Team': 'blue' }, user(), req).codes, ['header-ok']);
  assert.equal(allows({ 'header/x-team': { in: ['red', 'green'] } }, user(), req).allow, false);
  assert.equal(allows({ 'header/user-agent': { starts_with: 'curl/' } }, user(), req).allow, true);
  assert.equal(allows({ 'header/x-missing': { present: true } }, user(), req).allow, false);
  assert.equal(denies({ 'header/user-agent': { starts_with: 'curl/' } }, user(), req), true);
  assert.equal(denies({ 'header/x-team': 'red' }, user(), req), false);
  assert.match(validatePolicy({ allow: { or: [{ 'header/cookie': 'x' }] } })[0]?.message ?? '', /never passed/);
  assert.match(validatePolicy({ allow: { or: [{ 'headers/x': 'x' }] } })[0]?.message ?? '', /did you mean 'header\/x'/);
});

test('date: before, after, both; next change is the boundary', () => {
  const jan = Date.parse('2027-01-15T00:00:00Z');
  assert.deepEqual(allows({ date: { before: '2027-02-01' } }, user(), request, jan).codes, ['time-ok']);
  assert.equal(allows({ date: { after: '2027-02-01' } }, user(), request, jan).allow, false);
  assert.equal(allows({ date: { after: '2027-01-01', before: '2027-02-01T00:00:00Z' } }, user(), request, jan).allow, true);
  assert.equal(denies({ date: { after: '2027-01-01' } }, user(), request, jan), true);
  assert.equal(denies({ date: { before: '2027-01-01' } }, user(), request, jan), false);
  const policy = compilePolicy({ allow: { or: [{ date: { after: '2027-01-01', before: '2027-02-01' } }] } });
  assert.equal(policy.nextChange(jan), Date.parse('2027-02-01'));
  assert.match(validatePolicy({ allow: { or: [{ date: { befor: '2027-01-01' } }] } })[0]?.message ?? '', /did you mean 'before'/);
  assert.match(validatePolicy({ allow: { or: [{ date: { before: 'next week' } }] } })[0]?.message ?? '', /expected a date/);
});

test('day_of_week: names, ranges, lists, timezone', () => {
  assert.equal(allows({ day_of_week: 'mon-fri' }, user(), request, MON_0930_UTC).allow, true);
  assert.equal(allows({ day_of_week: 'mon-fri' }, user(), request, SAT_2300_UTC).allow, false);
  assert.equal(
    allows({ day_of_week: { is: 'sunday', timezone: 'Asia/Tokyo' } }, user(), request, SAT_2300_UTC).allow,
    true,
    'Sat 23:00 UTC is Sunday in Tokyo',
  );
  assert.equal(allows({ day_of_week: ['sat', 'sun'] }, user(), request, SAT_2300_UTC).allow, true);
  assert.equal(denies({ day_of_week: ['sat', 'sun'] }, user(), request, SAT_2300_UTC), true);
  assert.equal(denies({ day_of_week: 'fri-sun' }, user(), request, MON_0930_UTC), false);
  assert.match(validatePolicy({ allow: { or: [{ day_of_week: 'mno' }] } })[0]?.message ?? '', /unknown day 'mno' \(did you mean 'mon'\?\)/);
  assert.match(validatePolicy({ allow: { or: [{ day_of_week: { is: 'mon', timezone: 'Mars/Base' } }] } })[0]?.message ?? '', /unknown timezone/);
});

test('time_of_day: after/before, timezone, wrapping past midnight; next change within a minute', () => {
  const office = { time_of_day: { after: '09:00', before: '17:00', timezone: 'Europe/Berlin' } };
  assert.equal(allows(office, user(), request, MON_0930_UTC).allow, true, '10:30 in Berlin');
  assert.deepEqual(allows(office, user(), request, SAT_2300_UTC).messages, ['only from 09:00 until 17:00 (Europe/Berlin)', 'no allow rule matched']);
  assert.equal(allows({ time_of_day: { after: '22:00', before: '06:00' } }, user(), request, SAT_2300_UTC).allow, true);
  assert.equal(denies({ time_of_day: { after: '22:00' } }, user(), request, SAT_2300_UTC), true);
  assert.equal(denies({ time_of_day: { before: '09:00' } }, user(), request, MON_0930_UTC), false);
  assert.equal(compilePolicy({ allow: { or: [office] } }).nextChange(MON_0930_UTC + 1234), MON_0930_UTC + 60_000);
  assert.equal(compilePolicy({ allow: { or: [{ email: 'a@b.c' }] } }).nextChange(0), Infinity);
  assert.match(validatePolicy({ allow: { or: [{ time_of_day: { after: '9am' } }] } })[0]?.message ?? '', /24-hour time/);
});

test('auth_age less_than / more_than: the time since the sign-in at the IdP, reasons auth-age-ok / auth-age-unauthorized', () => {
  const at = Date.parse('2027-01-31T09:00:00Z');
  const signedIn = user({ authTime: at - 10 * 60_000 });
  assert.deepEqual(allows({ auth_age: { less_than: '15m' } }, signedIn, request, at).codes, ['auth-age-ok']);
  assert.deepEqual(allows({ auth_age: '15m' }, signedIn, request, at).codes, ['auth-age-ok'], 'a bare duration means less_than');
  const old = allows({ auth_age: { less_than: '5m' } }, signedIn, request, at);
  assert.equal(old.allow, false);
  assert.deepEqual(old.codes, ['auth-age-unauthorized', 'no-rule-matched']);
  assert.match(old.messages[0]!, /requires signing in again \(at most 5m ago\)/);
  assert.equal(allows({ auth_age: { less_than: '1h' } }, user(), request, at).allow, false, 'no sign-in time: never recent');
  assert.equal(denies({ auth_age: { more_than: '5m' } }, signedIn, request, at), true);
  assert.equal(denies({ auth_age: { more_than: '1h' } }, signedIn, request, at), false);
  assert.equal(denies({ auth_age: { more_than: '1h' } }, user(), request, at), true, 'no sign-in time counts as old (fails closed)');
  assert.equal(compilePolicy({ allow: { or: [{ auth_age: '15m' }] } }).nextChange(at), at + 1000, 'a decision on an age is reused for a second at most');
  assert.match(validatePolicy({ allow: { or: [{ auth_age: { less_than: 'soon' } }] } })[0]!.message, /expected a duration longer than 0 like 15m/);
  assert.match(validatePolicy({ allow: { or: [{ auth_age: { less_than: '0s' } }] } })[0]!.message, /longer than 0/);
  assert.match(
    validatePolicy({ allow: { or: [{ auth_age: { les_than: '5m' } }] } })[0]!.message,
    /unknown operator 'les_than' for auth_age \(did you mean 'less_than'\?\)/,
  );
});

test('acr is / in: the assurance the IdP signed the user in with, exact; reasons acr-ok / acr-unauthorized', () => {
  const mfa = user({ acr: 'urn:example:mfa' });
  assert.deepEqual(allows({ acr: 'urn:example:mfa' }, mfa).codes, ['acr-ok']);
  assert.deepEqual(allows({ acr: ['urn:example:pwd', 'urn:example:mfa'] }, mfa).codes, ['acr-ok'], 'a bare list means in');
  const weak = allows({ acr: { in: ['urn:example:mfa', 'urn:example:hwk'] } }, user({ acr: 'urn:example:pwd' }));
  assert.equal(weak.allow, false);
  assert.deepEqual(weak.codes, ['acr-unauthorized', 'no-rule-matched']);
  assert.equal(weak.messages[0], 'requires sign-in assurance urn:example:mfa or urn:example:hwk');
  assert.equal(allows({ acr: { is: 'urn:example:mfa' } }, user()).allow, false, 'no acr matches nothing');
  assert.equal(allows({ acr: { is: 'URN:EXAMPLE:MFA' } }, mfa).allow, false, 'compared exactly');
  assert.match(validatePolicy({ allow: { or: [{ acr: { in: [] } }] } })[0]!.message, /non-empty list of acr values/);
});
