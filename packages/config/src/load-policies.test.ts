import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { routeDecision } from '@vallum/policy';
import { compilePolicies, ConfigError, loadConfigText } from './index.js';

const HEAD = `authenticate_service_url: http://authenticate.localhost:8000
idp:
  issuer: https://127.0.0.1:8010
  client_id: vallum
  client_secret: secret
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
`;
const ROUTES = `routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:8020
    policy: { allow: { or: [{ groups: { has: staff } }] } }
`;

function issuesOf(text: string, file = 'vallum.yaml'): string[] {
  try {
    loadConfigText(text, file, { env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.location}: ${i.message}`);
  }
  assert.fail('expected the config to be refused');
}

test('a misspelt route, global or admin policy fails the load itself, at its file:line:column', () => {
  const issues = issuesOf(
    `${HEAD}global_policy: { deny: { or: [{ grops: { has: x } }] } }\nadmin_policy: { allow: { or: [{ emial: { is: a@example.com } }] } }\n${ROUTES.replace('groups: { has:', 'groups: { hass:')}`,
  );
  assert.ok(
    issues.some((i) => /^vallum\.yaml:8:31: unknown criterion 'grops'/.test(i)),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => /^vallum\.yaml:9:31: unknown criterion 'emial'/.test(i)),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => /^vallum\.yaml:13:39: unknown operator 'hass' for groups/.test(i)),
    issues.join('\n'),
  );
});

test('a `use` of an unknown named policy fails the load at the use, with a did-you-mean', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-config-'));
  writeFileSync(join(dir, 'staff.yaml'), 'allow:\n  or:\n    - groups: { has: staff }\n');
  const issues = issuesOf(`${HEAD}policy_files: [staff.yaml]\nglobal_policy: { use: staf }\n${ROUTES}`, join(dir, 'vallum.yaml'));
  assert.deepEqual(issues, [`${join(dir, 'vallum.yaml')}:9:23: unknown named policy 'staf' (did you mean 'staff'?); known: staff`]);
});

test('admin_policy may use a named policy, and compiles with it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-config-'));
  writeFileSync(join(dir, 'admins.yaml'), 'allow:\n  or:\n    - groups: { has: admins }\n');
  const config = loadConfigText(`${HEAD}policy_files: [admins.yaml]\nadmin_policy: { use: admins }\n${ROUTES}`, join(dir, 'vallum.yaml'), { env: {} });
  const admin = compilePolicies(config).compiled?.admin;
  assert.ok(admin);
  const allows = (groups: string[]) =>
    routeDecision(
      { allowPublicUnauthenticatedAccess: false, allowAnyAuthenticatedUser: false, policy: admin },
      { sub: 's', email: 's@example.com', groups, claims: {} },
      { method: 'GET', host: 'app.localhost:8000', path: '/' },
      0,
    ).allow;
  assert.equal(allows(['admins']), true);
  assert.equal(allows(['staff']), false);
});

test('trusted_proxies and forward_auth.trusted_proxies take what the policy matcher takes, IPv4-mapped ranges included', () => {
  const config = loadConfigText(
    `${HEAD}trusted_proxies: [10.0.0.0/8, "::1", "::ffff:192.168.0.0/112"]\nforward_auth:\n  trusted_proxies: [127.0.0.1]\n${ROUTES}`,
    'vallum.yaml',
    { env: {} },
  );
  assert.deepEqual(config.trustedProxies, ['10.0.0.0/8', '::1', '::ffff:192.168.0.0/112']);
  const issues = issuesOf(
    `${HEAD}trusted_proxies: [10.0.0.0/33, 01.2.3.4, "fe80::1%eth0", "::ffff:0:0/95"]\nforward_auth:\n  trusted_proxies: [10.0.0.0/8/8]\n${ROUTES}`,
  );
  assert.equal(issues.filter((i) => /expected an IP address or CIDR like 10\.0\.0\.0\/8/.test(i)).length, 5, issues.join('\n'));
  assert.ok(
    issues.some((i) => i.startsWith('vallum.yaml:10:21: ')),
    issues.join('\n'),
  );
});
