// The config files users meet: the shipped example loads, and a broken file is refused by the CLI with
// file:line:column and a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadVallumConfig } from '@vallum/cmd';
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
