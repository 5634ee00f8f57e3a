import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, type LocatedIssue } from '@vallum/config';
import type { Identity } from '@vallum/policy';
import { createAuthorizer, DECISION_TTL_MS, type DecisionLogLine } from './index.js';
import { CONFIG } from './test-fixtures.js';

const request = { method: 'GET', host: 'wiki.localhost:8000', path: '/' };
const eve: Identity = { sub: 'e', email: 'eve@example.com', groups: ['engineering'], claims: {} };
const sam: Identity = { sub: 's', email: 'sam@example.com', groups: ['sales'], claims: {} };

/** A config directory with vallum.yaml (CONFIG plus `extra` before routes) and policy/NAME.yaml files. */
function setup(extra: string, policies: Record<string, string>, routePolicy?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-named-'));
  mkdirSync(join(dir, 'policy'));
  for (const [name, text] of Object.entries(policies)) writeFileSync(join(dir, 'policy', name), text);
  let text = CONFIG.replace('routes:\n', `policy_dir: policy\n${extra}routes:\n`);
  const before = text;
  if (routePolicy)
    text = text.replace(
      / {4}policy:\n {6}allow:\n {8}or:\n {10}- groups: \{ has: engineering \}\n {10}- email: \{ is: alice@example.com \}\n {6}deny:\n {8}or:\n {10}- groups: \{ has: contractors \}\n/,
      routePolicy,
    );
  if (routePolicy && text === before) throw new Error('the wiki route policy was not replaced');
  writeFileSync(join(dir, 'vallum.yaml'), text);
  return join(dir, 'vallum.yaml');
}

const load = (file: string) => loadConfigFile(file, { env: {} });

/** The problems that make loading the config fail (policy problems included, since loading compiles every policy). */
function problemsOf(file: string): LocatedIssue[] {
  try {
    load(file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues;
  }
  assert.fail('expected the config to be refused');
}
const ENGINEERING = 'allow:\n  or:\n    - groups: { has: engineering }\n';

test('a route uses a named policy from policy_dir', async () => {
  const file = setup('', { 'engineering-only.yaml': ENGINEERING }, '    policy: { use: engineering-only }\n');
  const authorizer = createAuthorizer(load(file));
  assert.equal((await authorizer.evaluate({ routeId: 'wiki', identity: eve, request })).allow, true);
  assert.equal((await authorizer.evaluate({ routeId: 'wiki', identity: sam, request })).allow, false);
});

test('a problem in a named policy file is located in that file, with a did-you-mean', () => {
  const file = setup('', { 'engineering-only.yaml': 'allow:\n  or:\n    - grops: { has: engineering }\n' });
  const problems = problemsOf(file);
  assert.match(problems[0]?.location ?? '', /policy\/engineering-only\.yaml:3:7$/);
  assert.match(problems[0]?.message ?? '', /did you mean 'groups'/);
});

test('an unknown named policy is located at use: with a did-you-mean', () => {
  const file = setup('', { 'engineering-only.yaml': ENGINEERING }, '    policy: { use: engineering-onyl }\n');
  const problems = problemsOf(file);
  assert.match(problems[0]?.location ?? '', /vallum\.yaml:\d+:\d+$/);
  assert.match(problems[0]?.message ?? '', /unknown named policy 'engineering-onyl' \(did you mean 'engineering-only'\?\)/);
});

test('a YAML syntax error in a named policy file is located in it', () => {
  assert.throws(() => load(setup('', { 'broken.yaml': 'allow: [\n' })), /broken\.yaml:\d+:\d+: YAML syntax/);
});

test('the global policy applies before every route; it can use a named policy', async () => {
  const file = setup('global_policy: { use: no-contractors }\n', { 'no-contractors.yaml': 'deny:\n  or:\n    - groups: { has: contractors }\n' });
  const authorizer = createAuthorizer(load(file));
  const carl = { ...eve, groups: ['contractors'], email: 'carl@example.com' };
  assert.equal((await authorizer.evaluate({ routeId: 'chat', identity: eve, request })).allow, true);
  assert.deepEqual((await authorizer.evaluate({ routeId: 'chat', identity: carl, request })).reasons[0]?.code, 'deny-matched');
  assert.equal((await authorizer.evaluate({ routeId: 'status', identity: null, request })).allow, true, 'public routes are not subject to it');
  const explained = authorizer.explain({ routeId: 'chat', identity: carl, request });
  assert.equal(explained.global?.allow, false);
  assert.equal(explained.route?.allow, true);
});

test('shadow mode: enforce: false allows, logs would-deny and counts it', async () => {
  const file = setup('', { 'engineering-only.yaml': `enforce: false\n${ENGINEERING}` }, '    policy: { use: engineering-only }\n');
  const lines: DecisionLogLine[] = [];
  const authorizer = createAuthorizer(load(file), { logger: { debug: (line) => lines.push(line) } });
  const decision = await authorizer.evaluate({ routeId: 'wiki', identity: sam, request, requestId: 'req-1' });
  await authorizer.evaluate({ routeId: 'wiki', identity: sam, request });
  assert.equal(decision.allow, true);
  assert.equal(decision.shadow, true);
  assert.equal(decision.cacheableUntil, undefined, 'each would-deny must reach the authorizer to be counted');
  assert.equal(authorizer.shadowDenials('wiki'), 2);
  assert.deepEqual(lines[0], {
    route: 'wiki',
    user: 'sam@example.com',
    decision: 'would-deny',
    reasons: ['shadow-allow', 'groups-unauthorized', 'no-rule-matched'],
    request_id: 'req-1',
    shadow_denials: 1,
  });
});

test('decisions carry the policy version, which changes with a policy; time criteria bound cacheable_until', async () => {
  const a = createAuthorizer(load(setup('', { 'p.yaml': ENGINEERING }, '    policy: { use: p }\n')));
  const b = createAuthorizer(load(setup('', { 'p.yaml': ENGINEERING.replace('engineering', 'sales') }, '    policy: { use: p }\n')));
  assert.notEqual(a.policyVersion, b.policyVersion);
  assert.equal((await a.evaluate({ routeId: 'wiki', identity: eve, request })).policyVersion, a.policyVersion);
  const untimed = createAuthorizer(load(setup('', { 'p.yaml': ENGINEERING }, '    policy: { use: p }\n')), { now: () => 1_000_000 });
  assert.equal((await untimed.evaluate({ routeId: 'wiki', identity: eve, request })).cacheableUntil, 1_000_000 + DECISION_TTL_MS);
  const headers = createAuthorizer(load(setup('', { 'p.yaml': `${ENGINEERING}    - header/x-team: blue\n` }, '    policy: { use: p }\n')));
  assert.equal((await headers.evaluate({ routeId: 'wiki', identity: eve, request })).cacheableUntil, undefined, 'header criteria: not cacheable');
  const timed = 'allow:\n  and:\n    - groups: { has: engineering }\n    - time_of_day: { after: "09:00", before: "17:00" }\n';
  const c = createAuthorizer(load(setup('', { 'p.yaml': timed }, '    policy: { use: p }\n')), { now: () => 1_000_000 });
  assert.equal((await c.evaluate({ routeId: 'wiki', identity: eve, request })).cacheableUntil, 1_020_000);
});
