// The config files users meet: the shipped example loads, and a broken file is refused by the CLI with
// file:line:column and a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadVallumConfig } from '@vallum/cmd';
import { ConfigError, loadConfigText } from '@vallum/config';
import { VALLUM_BIN } from './harness.js';

const example = fileURLToPath(new URL('../../vallum.example.yaml', import.meta.url));

function vallum(...args: string[]) {
  return spawnSync(process.execPath, [VALLUM_BIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, VALLUM_SHARED_SECRET: '' } });
}

test('the shipped example config loads with every route', () => {
  const config = loadVallumConfig(example, { env: {} });
  assert.deepEqual(config.routes.map((r) => r.id), ['grafana', 'wiki-admin', 'wiki', 'status']);
  const res = vallum('validate', '--config', example);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /ok \(4 routes\)/);
});

test('a broken config file is refused with file:line:column, for a typo in a key and in a policy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-config-'));
  const broken = join(dir, 'vallum.yaml');
  const text = readFileSync(example, 'utf8')
    .replace('    pass_identity_headers: true', '    pass_identity_header: true')
    .replace('          - domain: { is: corp.example.com }', '          - domian: { is: corp.example.com }');
  writeFileSync(broken, text);
  const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
  const res = vallum('validate', '--config', broken);
  assert.equal(res.status, 1);
  assert.match(res.stderr, new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${lineOf('pass_identity_header:')}:5: unknown key 'pass_identity_header' \\(did you mean 'pass_identity_headers'\\?\\)`));
  assert.match(res.stderr, new RegExp(`:${lineOf('domian')}:\\d+: .*did you mean 'domain'`));
});

/** `location: message` of each problem loadConfigText finds in the file, in order. */
function loadProblems(file: string): string[] {
  try {
    loadConfigText(readFileSync(file, 'utf8'), file, { env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.location}: ${i.message}`);
  }
  assert.fail(`${file} loaded`);
}

test('loadConfigText refuses a config with a bad policy exactly as `vallum validate` does, with file:line:column', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-config-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'staff.yaml'), 'allow:\n  or:\n    - groups: { has: staff }\n');
  writeFileSync(join(dir, 'policies', 'broken.yaml'), 'allow:\n  or:\n    - grops: { has: staff }\n');
  const head = `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: s }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
policy_dir: policies
`;
  const route = (policy: string) => `routes:\n  - from: http://app.localhost:8000\n    to: http://127.0.0.1:9001\n    policy: ${policy}\n`;
  // Problems in the config's own policies (found with the schema's), then ones found only once the named policy
  // files are read: `use` of an unknown name (the admin policy's too) and a typo inside a named policy file.
  const cases = [
    { text: `${head}admin_policy: { allow: { or: [{ emial: { is: a@example.com } }] } }\n${route('{ allow: { or: [{ domain: { iss: example.com } }] } }')}`, expect: [/vallum\.yaml:10:39: unknown operator 'iss' for domain/, /vallum\.yaml:6:31: unknown criterion 'emial'/] },
    { text: `${head}admin_policy: { use: admins }\n${route('{ use: staf }')}`, expect: [/vallum\.yaml:6:22: unknown named policy 'admins'/, /vallum\.yaml:10:20: unknown named policy 'staf' \(did you mean 'staff'\?\)/, /policies\/broken\.yaml:3:7: unknown criterion 'grops'/] },
  ];
  for (const { text, expect } of cases) {
    const file = join(dir, 'vallum.yaml');
    writeFileSync(file, text);
    const loaded = loadProblems(file);
    for (const pattern of expect) assert.ok(loaded.some((line) => pattern.test(line)), `${pattern} in\n${loaded.join('\n')}`);
    const res = vallum('validate', '--config', file);
    assert.equal(res.status, 1, res.stdout);
    assert.deepEqual(res.stderr.trim().split('\n').slice(1), loaded, 'vallum validate lists the same problems');
  }
});

test('a YAML syntax error stops the start with its position, and a missing file is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-config-'));
  const broken = join(dir, 'vallum.yaml');
  writeFileSync(broken, 'address: 127.0.0.1:8000\nroutes: [\n  - from: x\n');
  const res = vallum('--config', broken);
  assert.equal(res.status, 1);
  assert.match(res.stderr, /vallum\.yaml:\d+:\d+: YAML syntax/);
  const missing = vallum('--config', join(dir, 'nope.yaml'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read config file .*nope\.yaml/);
});

test('the README shows the shipped example config, unchanged', () => {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  assert.ok(readme.includes('```yaml\n' + readFileSync(example, 'utf8') + '```'), 'README.md and vallum.example.yaml differ: copy the file into the README');
});
