import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText, ConfigError } from '@vallum/config';
import type { Decision, Identity } from '@vallum/policy';
import { createAuthorizer, type DecisionLogLine } from './index.js';
import { CONFIG, MISSPELT } from './test-fixtures.js';

const request = { method: 'GET', host: 'wiki.localhost:8000', path: '/' };
const eve: Identity = { sub: 'e', email: 'eve@example.com', groups: ['engineering'], claims: {} };
const mallory: Identity = { sub: 'm', email: 'mallory@example.com', groups: ['engineering', 'contractors'], claims: {} };
const bob: Identity = { sub: 'b', email: 'bob@partner.example', groups: [], claims: {} };

/** The decision without the cache hints (policy version, cacheable until). */
const verdict = ({ allow, reasons }: Decision): Decision => ({ allow, reasons });
const load = (text: string) => loadConfigText(text, 'vallum.yaml', { env: {} });

test('evaluate allows and denies by the route policy, with reasons', async () => {
  const authorizer = createAuthorizer(load(CONFIG));
  assert.deepEqual(verdict(await authorizer.evaluate({ routeId: 'wiki', identity: eve, request })), {
    allow: true,
    reasons: [{ code: 'groups-ok', message: 'allowed: member of group engineering' }],
  });
  assert.deepEqual(verdict(await authorizer.evaluate({ routeId: 'wiki', identity: mallory, request })), {
    allow: false,
    reasons: [{ code: 'deny-matched', message: 'denied: member of group contractors' }],
  });
  const refused = verdict(await authorizer.evaluate({ routeId: 'wiki', identity: bob, request }));
  assert.equal(refused.allow, false);
  assert.deepEqual(
    refused.reasons.map((r) => r.code),
    ['groups-unauthorized', 'email-unauthorized', 'no-rule-matched'],
  );
  assert.deepEqual(
    verdict(await authorizer.evaluate({ routeId: 'wiki', identity: null, request })).reasons.map((r) => r.code),
    ['user-unauthenticated'],
  );
});

test('public and any-authenticated-user routes; a policy deny still wins over allow_any_authenticated_user', async () => {
  const authorizer = createAuthorizer(load(CONFIG));
  assert.deepEqual(verdict(await authorizer.evaluate({ routeId: 'status', identity: null, request })).reasons[0]?.code, 'public-route');
  assert.equal(verdict(await authorizer.evaluate({ routeId: 'chat', identity: eve, request })).allow, true);
  assert.equal(verdict(await authorizer.evaluate({ routeId: 'chat', identity: null, request })).allow, false);
  assert.deepEqual(verdict(await authorizer.evaluate({ routeId: 'chat', identity: bob, request })), {
    allow: false,
    reasons: [{ code: 'deny-matched', message: 'denied: email domain partner.example' }],
  });
});

test('an unknown route id is denied (fail closed) with route-unknown', async () => {
  const authorizer = createAuthorizer(load(CONFIG));
  for (const routeId of ['nope', '__proto__', 'constructor']) {
    assert.deepEqual(verdict(await authorizer.evaluate({ routeId, identity: eve, request })), {
      allow: false,
      reasons: [{ code: 'route-unknown', message: 'unknown route' }],
    });
  }
});

test('each decision is logged once with route, user, decision and reason codes', async () => {
  const lines: DecisionLogLine[] = [];
  const authorizer = createAuthorizer(load(CONFIG), { logger: { debug: (line) => lines.push(line) } });
  verdict(await authorizer.evaluate({ routeId: 'wiki', identity: mallory, request }));
  verdict(await authorizer.evaluate({ routeId: 'status', identity: null, request }));
  assert.deepEqual(lines, [
    { route: 'wiki', user: 'mallory@example.com', decision: 'deny', reasons: ['deny-matched'] },
    { route: 'status', user: null, decision: 'allow', reasons: ['public-route'] },
  ]);
});

test('a misspelt criterion fails the config load at its file:line:col with a did-you-mean', () => {
  assert.throws(
    () => load(MISSPELT),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /vallum\.yaml:16:13: unknown criterion 'emial' \(did you mean 'email'\?\)/);
      assert.deepEqual(err.issues[0]?.path, ['routes', 0, 'policy', 'allow', 'or', 1]);
      return true;
    },
  );
});

test('an operator typo is located at the operator; every problem is listed', () => {
  const text = MISSPELT.replace('emial: { is:', 'email: { iss:').replace('groups: { has: engineering }', 'groups: { has_any: engineering }');
  assert.throws(
    () => load(text),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /vallum\.yaml:15:32: expected a non-empty list of group names/);
      assert.match(err.message, /vallum\.yaml:16:20: unknown operator 'iss' for email \(did you mean 'is'\?\)/);
      return true;
    },
  );
});

test('createAuthorizer refuses a config whose policy does not compile, locating the problem', () => {
  // Loading refuses such a config (above); a config object built by hand still cannot get a broken policy past.
  const config = load(CONFIG);
  const misspelt = {
    ...config,
    routes: config.routes.map((r) => (r.id === 'wiki' ? { ...r, policy: { allow: { or: [{ emial: { is: 'a@example.com' } }] } } } : r)),
  };
  assert.throws(
    () => createAuthorizer(misspelt),
    (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'VALLUM_POLICY_INVALID');
      assert.match((err as Error).message, /vallum\.yaml:\d+:\d+: unknown criterion 'emial' \(did you mean 'email'\?\)/);
      return true;
    },
  );
});
