import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLinear, compilePolicy, type CompiledPolicy } from './compile.js';
import { evaluatePolicy } from './evaluate.js';
import { routeDecision } from './route-decision.js';
import { buildIndex, candidates, keysOf } from './identity-index.js';
import type { Decision, Identity, Reason, RequestInfo } from './types.js';

/** mulberry32: a seeded generator, so a failure names a seed that reproduces it. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const USERS = ['u0', 'u1', 'u2', 'u3'];
const EMAILS = ['a@x.test', 'B@x.test', 'c@y.test', 'd@z.test'];
const DOMAINS = ['x.test', 'Y.test', 'z.test', 'w.test'];
const GROUPS = ['g0', 'g1', 'g2', 'g3', 'g4'];
const PATHS = ['/a', '/b', '/c'];

function randomPolicy(random: () => number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const some = <T>(list: readonly T[]): T[] => list.filter(() => random() < 0.4).concat([pick(list)]);
  const criterion = (): unknown => {
    switch (Math.floor(random() * 12)) {
      case 0:
        return { email: { is: pick(EMAILS) } };
      case 1:
        return { email: { in: some(EMAILS) } };
      case 2:
        return { email: { ends_with: '@x.test' } };
      case 3:
        return { domain: { is: pick(DOMAINS) } };
      case 4:
        return { domain: { in: some(DOMAINS) } };
      case 5:
        return { user: { is: pick(USERS) } };
      case 6:
        return { user: { in: some(USERS) } };
      case 7:
        return { groups: { has: pick(GROUPS) } };
      case 8:
        return { groups: { has_any: some(GROUPS) } };
      case 9:
        return { groups: { has_all: some(GROUPS) } };
      case 10:
        return { http_path: { starts_with: pick(PATHS) } };
      default:
        return { authenticated_user: true };
    }
  };
  const expression = (depth: number): unknown => {
    if (depth > 1 || random() < 0.5) return criterion();
    const op = pick(['and', 'or', 'or', 'or', 'not', 'nor']);
    const count = 1 + Math.floor(random() * (random() < 0.3 ? 30 : 4));
    return { [op]: Array.from({ length: count }, () => expression(depth + 1)) };
  };
  const block = (): unknown => {
    const op = pick(['and', 'or', 'or', 'not', 'nor']);
    const count = 1 + Math.floor(random() * (random() < 0.3 ? 40 : 4));
    return { [op]: Array.from({ length: count }, () => expression(1)) };
  };
  const blocks = (max: number) => Array.from({ length: Math.floor(random() * max) }, block);
  return { allow: blocks(random() < 0.5 ? 40 : 5), deny: blocks(random() < 0.2 ? 20 : 2) };
}

function randomIdentity(random: () => number): Identity {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const local = pick(['a', 'b', 'c', 'd', 'e']);
  const email = random() < 0.1 ? 'no-at-sign' : `${random() < 0.5 ? local.toUpperCase() : local}@${pick(DOMAINS)}`;
  return { sub: pick([...USERS, 'u9']), email, groups: GROUPS.filter(() => random() < 0.3), claims: {} };
}

test('an indexed policy decides exactly as a linear scan: same allow, same reasons, on random policies and identities', () => {
  let indexedDecisions = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const random = generator(seed);
    const value = randomPolicy(random);
    const indexed = compilePolicy(value);
    const linear = compileLinear(value);
    if (indexed.allowIndex || indexed.denyIndex) indexedDecisions++;
    for (let k = 0; k < 25; k++) {
      const identity = randomIdentity(random);
      const request: RequestInfo = { method: 'GET', host: 'app.localhost', path: PATHS[k % PATHS.length]! };
      assert.deepEqual(evaluatePolicy(indexed, identity, request, 0), evaluatePolicy(linear, identity, request, 0), `seed ${seed}, identity ${k}`);
      const route = { allowPublicUnauthenticatedAccess: false, allowAnyAuthenticatedUser: k % 2 === 0, policy: indexed };
      assert.deepEqual(routeDecision(route, identity, request, 0), routeDecision({ ...route, policy: linear }, identity, request, 0), `route, seed ${seed}`);
    }
  }
  assert.ok(indexedDecisions > 50, `only ${indexedDecisions} random policies were indexed`);
});

/** The decision as `explain` gives it, block by block (deny first), when a block matches: the reference for the reasons built at compile time. */
function explainedMatch(policy: CompiledPolicy, identity: Identity, request: RequestInfo): Decision | undefined {
  for (const [blocks, use] of [
    [policy.deny, 'denied'],
    [policy.allow, 'ok'],
  ] as const) {
    for (const block of blocks) {
      const reasons: Reason[] = [];
      if (block.explain(identity, request, 0, use, reasons)) return { allow: use === 'ok', reasons };
    }
  }
  return undefined;
}

test('a matching rule gives the reasons explain gives, though they were built at compile time, on random policies and identities', () => {
  let matched = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const random = generator(seed);
    const policy = compilePolicy(randomPolicy(random));
    for (let k = 0; k < 25; k++) {
      const identity = randomIdentity(random);
      const request: RequestInfo = { method: 'GET', host: 'app.localhost', path: PATHS[k % PATHS.length]! };
      const expected = explainedMatch(policy, identity, request);
      if (!expected) continue;
      matched++;
      assert.deepEqual(evaluatePolicy(policy, identity, request, 0), expected, `seed ${seed}, identity ${k}`);
    }
  }
  assert.ok(matched > 2000, `only ${matched} decisions matched a rule`);
});

test('the index hands back, in rule order, every rule that could match and skips rules for other identities', () => {
  const rules = [keysOf('email', ['a@x.test']), undefined, keysOf('groups', ['g1', 'g2']), keysOf('domain', ['y.test']), keysOf('sub', ['u1'])];
  const index = buildIndex([...rules, ...Array.from({ length: 5 }, () => keysOf('groups', ['other']))]);
  assert.ok(index);
  const identity: Identity = { sub: 'u1', email: 'A@X.test', groups: ['g2', 'g1'], claims: {} };
  assert.deepEqual(candidates(index, identity), [0, 1, 2, 4]);
  assert.deepEqual(candidates(index, { sub: 'z', email: 'c@y.test', groups: [], claims: {} }), [1, 3]);
});

test('10,000 single-address rules: the matching rule allows, with its own reason, and a stranger gets the linear refusal', () => {
  const value = {
    allow: { or: Array.from({ length: 10_000 }, (_, i) => ({ email: { is: `user${i}@x.test` } })) },
    deny: { or: [{ groups: { has: 'banned' } }] },
  };
  const indexed = compilePolicy(value);
  const linear = compileLinear(value);
  const request: RequestInfo = { method: 'GET', host: 'app.localhost', path: '/' };
  const last: Identity = { sub: 's', email: 'user9999@x.test', groups: [], claims: {} };
  assert.deepEqual(evaluatePolicy(indexed, last, request, 0), {
    allow: true,
    reasons: [{ code: 'email-ok', message: 'allowed: email address on the allow list' }],
  });
  for (const who of [last, { ...last, groups: ['banned'] }, { ...last, email: 'stranger@x.test' }]) {
    assert.deepEqual(evaluatePolicy(indexed, who, request, 0), evaluatePolicy(linear, who, request, 0));
  }
});
