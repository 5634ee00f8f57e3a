import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VallumConfig } from '@vallum/config';
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

test('the watcher reloads on a changed, added or broken named policy file, not only on vallum.yaml', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-watch-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'a.yaml'), 'allow:\n  or:\n    - groups: { has: a }\n');
  writeFileSync(join(dir, 'vallum.yaml'), CONFIG);
  const configs: VallumConfig[] = [];
  const errors: string[] = [];
  const watcher = watchConfigFile(join(dir, 'vallum.yaml'), {
    env: {},
    intervalMs: 50,
    onConfig: async (c) => void configs.push(c),
    onError: (e) => void errors.push((e as Error).message),
  });
  t.after(() => watcher.close());

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

/**
 * A ConfigMap volume as the kubelet lays it out: every key is a symlink through `..data` to a timestamped
 * directory, and an update writes a new directory, points a temporary `..data_tmp` link at it, renames that over
 * `..data` (one atomic step) and removes the old directory.
 */
function configMapVolume(dir: string, files: Record<string, string>): { update(files: Record<string, string>): void } {
  let generation = 0;
  let current: string | undefined;
  const update = (next: Record<string, string>) => {
    const stamp = `..2026_12_01_18_00_00.${String(++generation).padStart(9, '0')}`;
    mkdirSync(join(dir, stamp));
    for (const [key, text] of Object.entries(next)) writeFileSync(join(dir, stamp, key), text);
    symlinkSync(stamp, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    for (const key of Object.keys(next)) {
      if (!existsSync(join(dir, key))) symlinkSync(join('..data', key), join(dir, key));
    }
    if (current) rmSync(join(dir, current), { recursive: true });
    current = stamp;
  };
  update(files);
  return { update };
}

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
  const volume = configMapVolume(dir, { 'vallum.yaml': CONFIGMAP_CONFIG, 'team.yaml': 'allow:\n  or:\n    - groups: { has: a }\n' });
  const configs: VallumConfig[] = [];
  const errors: string[] = [];
  const watcher = watchConfigFile(join(dir, 'vallum.yaml'), {
    env: {},
    intervalMs: 50,
    onConfig: async (c) => void configs.push(c),
    onError: (e) => void errors.push((e as Error).message),
  });
  t.after(() => watcher.close());

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
