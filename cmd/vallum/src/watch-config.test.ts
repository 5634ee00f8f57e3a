import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VallumConfig } from '@vallum/config';
import { writeConfigMapVolume } from '@vallum/testing';
import { watchConfigFile } from './watch-config.js';

const CONFIG = `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: s, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
policy_dir: policies
routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:9
    policy: { use: a }
`;

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Watches `file` (polling every `intervalMs`) until the test ends; what it applied and the errors it reported. */
function watchAndCollect(t: TestContext, file: string, intervalMs = 50) {
  const configs: VallumConfig[] = [];
  const errors: string[] = [];
  const watcher = watchConfigFile(file, {
    env: {},
    intervalMs,
    onConfig: async (c) => void configs.push(c),
    onError: (e) => void errors.push((e as Error).message),
  });
  t.after(() => watcher.close());
  return { configs, errors, watcher };
}

/** A config with a named policy in a temp dir. */
function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-watch-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'a.yaml'), 'allow:\n  or:\n    - groups: { has: a }\n');
  writeFileSync(join(dir, 'vallum.yaml'), CONFIG);
  return dir;
}

test('the watcher reloads on a changed, added or broken named policy file, not only on vallum.yaml', async (t) => {
  const dir = configDir();
  const { configs, errors } = watchAndCollect(t, join(dir, 'vallum.yaml'));

  writeFileSync(join(dir, 'policies', 'a.yaml'), 'allow:\n  or:\n    - groups: { has: b }\n');
  await until(() => configs.length === 1);
  assert.match(JSON.stringify(configs[0]!.namedPolicies[0]!.value), /"has":"b"/);

  writeFileSync(join(dir, 'policies', 'c.yaml'), 'deny:\n  or:\n    - groups: { has: c }\n');
  await until(() => configs.length === 2);
  assert.deepEqual(
    configs[1]!.namedPolicies.map((n) => n.name),
    ['a', 'c'],
  );

  writeFileSync(join(dir, 'policies', 'c.yaml'), 'deny:\n  or:\n    - groups: { hass: c }\n');
  await until(() => errors.length === 1);
  assert.match(errors[0]!, /policies\/c\.yaml:3:15: unknown operator 'hass' for groups \(did you mean 'has'\?\)/);
  assert.equal(configs.length, 2, 'nothing was applied');
});

test('reload() (SIGHUP) loads the file even when nothing changed, and reports a file that no longer loads', async (t) => {
  const dir = configDir();
  const { configs, errors, watcher } = watchAndCollect(t, join(dir, 'vallum.yaml'), 60_000);
  await watcher.reload();
  assert.equal(configs.length, 1);
  await Promise.all([watcher.reload(), watcher.reload()]);
  assert.equal(configs.length, 3, 'a reload asked for while one runs runs after it');
  writeFileSync(join(dir, 'vallum.yaml'), `${CONFIG}bogus_key: 1\n`);
  await watcher.reload();
  assert.equal(configs.length, 3);
  assert.match(errors.at(-1)!, /bogus_key/);
});

const CONFIGMAP_CONFIG = `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: s, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
policy_files: [team.yaml]
routes:
  - name: app
    from: http://app.localhost:8000
    to: http://127.0.0.1:9
    policy: { use: team }
`;

test('the watcher follows a Kubernetes ConfigMap update: the atomic `..data` symlink swap reloads, a broken update keeps the running config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-configmap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const volume = writeConfigMapVolume(dir, { 'vallum.yaml': CONFIGMAP_CONFIG, 'team.yaml': 'allow:\n  or:\n    - groups: { has: a }\n' });
  const { configs, errors } = watchAndCollect(t, join(dir, 'vallum.yaml'));

  const twoRoutes = `${CONFIGMAP_CONFIG}  - name: status\n    from: http://status.localhost:8000\n    to: http://127.0.0.1:9\n    allow_public_unauthenticated_access: true\n`;
  volume.update({ 'vallum.yaml': twoRoutes, 'team.yaml': 'allow:\n  or:\n    - groups: { has: a }\n' });
  await until(() => configs.length === 1);
  assert.deepEqual(
    configs[0]!.routes.map((r) => r.id),
    ['app', 'status'],
  );

  // Only the named policy changed: it is a ConfigMap key too, reached through the same `..data` link.
  volume.update({ 'vallum.yaml': twoRoutes, 'team.yaml': 'allow:\n  or:\n    - groups: { has: b }\n' });
  await until(() => configs.length === 2);
  assert.match(JSON.stringify(configs[1]!.namedPolicies[0]!.value), /"has":"b"/);

  volume.update({
    'vallum.yaml': twoRoutes.replace('to: http://127.0.0.1:9\n    allow_public', 'to: 42\n    allow_public'),
    'team.yaml': 'allow:\n  or:\n    - groups: { has: b }\n',
  });
  await until(() => errors.length === 1);
  assert.match(errors[0]!, /vallum\.yaml:\d+:\d+: /);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(configs.length, 2, 'the broken update was not applied');
  assert.equal(errors.length, 1, 'the broken update is reported once, not at every poll');

  volume.update({ 'vallum.yaml': CONFIGMAP_CONFIG, 'team.yaml': 'allow:\n  or:\n    - groups: { has: b }\n' });
  await until(() => configs.length === 3);
  assert.deepEqual(
    configs[2]!.routes.map((r) => r.id),
    ['app'],
  );
});
