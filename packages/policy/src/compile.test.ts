import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, validatePolicy, PolicyError } from './index.js';

const messageAt = (value: unknown, path: (string | number)[]): string | undefined =>
  validatePolicy(value).find((i) => JSON.stringify(i.path) === JSON.stringify(path))?.message;

test('a valid policy has no issues', () => {
  assert.deepEqual(
    validatePolicy({
      allow: {
        or: [
          { email: { is: 'alice@example.com' } },
          { email: { in: ['bob@example.com'] } },
          { domain: { is: 'example.com' } },
          { groups: { has_any: ['a', 'b'] } },
          { 'claim/department': { in: ['engineering', 'sales'] } },
          { authenticated_user: true },
        ],
      },
      deny: [{ and: [{ groups: { has: 'contractors' } }] }],
    }),
    [],
  );
});

test('an unknown criterion is reported at its list item with a did-you-mean', () => {
  const message = messageAt({ allow: { or: [{ groups: 'x' }, { emial: { is: 'alice@example.com' } }] } }, ['allow', 'or', 1]);
  assert.match(message ?? '', /unknown criterion 'emial' \(did you mean 'email'\?\)/);
  assert.match(messageAt({ allow: { or: [{ grops: 'x' }] } }, ['allow', 'or', 0]) ?? '', /did you mean 'groups'/);
  assert.match(messageAt({ allow: { or: [{ 'claims/department': 'x' }] } }, ['allow', 'or', 0]) ?? '', /did you mean 'claim\/department'/);
  assert.match(messageAt({ allow: { or: [{ claims: 'x' }] } }, ['allow', 'or', 0]) ?? '', /did you mean 'claim\/<name>'/);
  assert.match(
    messageAt({ allow: { or: [{ hostname: 'x' }] } }, ['allow', 'or', 0]) ?? '',
    /expected one of email, domain, groups, claim\/<name>, authenticated_user, user, .*, time_of_day or a nested and, or, not, nor$/,
  );
});

test('an unknown operator is reported at the criterion value with a did-you-mean', () => {
  const message = messageAt({ allow: { or: [{ groups: { hass: 'admins' } }] } }, ['allow', 'or', 0, 'groups']);
  assert.equal(message, "unknown operator 'hass' for groups (did you mean 'has'?); expected one of has, has_any, has_all");
  assert.match(messageAt({ allow: { or: [{ email: { iss: 'a@b.c' } }] } }, ['allow', 'or', 0, 'email']) ?? '', /did you mean 'is'/);
  assert.match(messageAt({ allow: { or: [{ 'claim/x': { hass: 'y' } }] } }, ['allow', 'or', 0, 'claim/x']) ?? '', /for claim\/x \(did you mean 'has'\?\)/);
  assert.match(messageAt({ allow: { or: [{ domain: { is: 'a.com', in: ['b.com'] } }] } }, ['allow', 'or', 0, 'domain']) ?? '', /exactly one operator/);
});

test('unknown keys in the policy and in a block get a did-you-mean', () => {
  assert.match(messageAt({ alow: { or: [] } }, ['alow']) ?? '', /unknown key 'alow' \(did you mean 'allow'\?\)/);
  assert.match(messageAt({ allow: { ors: [] } }, ['allow', 'ors']) ?? '', /did you mean 'or'/);
  assert.match(messageAt({ allow: { not: [] } }, ['allow', 'not']) ?? '', /empty not would match everyone/);
  assert.match(messageAt({ allow: { nott: [] } }, ['allow', 'nott']) ?? '', /unknown operator 'nott' \(did you mean 'not'\?\)/);
  assert.match(messageAt({ allw: {}, use: 'x' }, ['allw']) ?? '', /did you mean 'allow'/);
});

test('operands are checked: types, lists, addresses, domains, claim names, authenticated_user', () => {
  assert.match(messageAt({ allow: { or: [{ email: { is: 'alice' } }] } }, ['allow', 'or', 0, 'email', 'is']) ?? '', /email address/);
  assert.match(messageAt({ allow: { or: [{ email: { is: 'a@b@c.com' } }] } }, ['allow', 'or', 0, 'email', 'is']) ?? '', /email address/);
  assert.match(messageAt({ allow: { or: [{ email: { in: 'a@b.com' } }] } }, ['allow', 'or', 0, 'email', 'in']) ?? '', /non-empty list/);
  assert.match(messageAt({ allow: { or: [{ email: { in: ['a@b.com', 7] } }] } }, ['allow', 'or', 0, 'email', 'in', 1]) ?? '', /email address/);
  assert.match(messageAt({ allow: { or: [{ domain: '@example.com' }] } }, ['allow', 'or', 0, 'domain']) ?? '', /no '@'/);
  assert.match(messageAt({ allow: { or: [{ groups: { has_all: [] } }] } }, ['allow', 'or', 0, 'groups', 'has_all']) ?? '', /non-empty list/);
  assert.match(messageAt({ allow: { or: [{ groups: ['a'] }] } }, ['allow', 'or', 0, 'groups']) ?? '', /expected a value or/);
  assert.match(messageAt({ allow: { or: [{ 'claim/': 'x' }] } }, ['allow', 'or', 0, 'claim/']) ?? '', /claim\/<name>/);
  assert.match(messageAt({ allow: { or: [{ claim: 'x' }] } }, ['allow', 'or', 0, 'claim']) ?? '', /claim\/<name>/);
  assert.match(messageAt({ allow: { or: [{ 'claim/a': { is: { x: 1 } } }] } }, ['allow', 'or', 0, 'claim/a', 'is']) ?? '', /string, number or boolean/);
  assert.equal(messageAt({ allow: { or: [{ authenticated_user: false }] } }, ['allow', 'or', 0, 'authenticated_user']), 'authenticated_user: expected true');
});

test('shape errors: not a mapping, block without and/or, criteria not a list, two criteria in one item', () => {
  assert.match(messageAt(null, []) ?? '', /allow and\/or deny/);
  assert.match(messageAt([], []) ?? '', /allow and\/or deny/);
  assert.match(messageAt({ allow: {} }, ['allow']) ?? '', /needs and, or, not or nor/);
  assert.match(messageAt({ allow: 'everyone' }, ['allow']) ?? '', /expected a block/);
  assert.match(messageAt({ allow: { or: { email: 'a@b.c' } } }, ['allow', 'or']) ?? '', /list of criteria/);
  assert.match(
    messageAt({ allow: { or: [{ email: 'a@b.c', domain: 'b.c' }] } }, ['allow', 'or', 0]) ?? '',
    /one criterion \(or one nested operator\) per list item/,
  );
  assert.match(messageAt({ allow: { or: [{ or: { email: 'a@b.c' } }] } }, ['allow', 'or', 0, 'or']) ?? '', /list of criteria/);
});

test('every problem is reported at once', () => {
  const issues = validatePolicy({ allow: { or: [{ emial: 'a@b.c' }, { groups: { hass: 'x' } }] }, deny: { and: [{ domian: 'x.com' }] } });
  assert.equal(issues.length, 3);
});

test('compilePolicy throws a PolicyError with code VALLUM_POLICY_INVALID and the issues', () => {
  assert.throws(
    () => compilePolicy({ allow: { or: [{ emial: { is: 'alice@example.com' } }] } }),
    (err: unknown) => {
      assert.ok(err instanceof PolicyError);
      assert.equal(err.code, 'VALLUM_POLICY_INVALID');
      assert.deepEqual(err.issues[0]?.path, ['allow', 'or', 0]);
      assert.match(err.message, /policy\.allow\.or\[0\]: unknown criterion 'emial'/);
      return true;
    },
  );
});
