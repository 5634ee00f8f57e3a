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
  return vallumWith({}, ...args);
}

function vallumWith(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, [VALLUM_BIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, VALLUM_SHARED_SECRET: '', ...env } });
}

/** Real secrets in place of the example's CHANGE-ME placeholders, as a deployment sets them. */
const SECRETS = { VALLUM_SHARED_SECRET: 's'.repeat(32), VALLUM_COOKIE_SECRET: 'c'.repeat(32), VALLUM_IDP_CLIENT_SECRET: 'from-the-idp' };

test('the shipped example config loads with every route, once its placeholder secrets are replaced', () => {
  const config = loadVallumConfig(example, { env: SECRETS });
  assert.deepEqual(
    config.routes.map((r) => r.id),
    ['grafana', 'wiki-admin', 'wiki', 'payroll', 'api', 'postgres', 'billing-grpc', 'status'],
  );
  const payroll = config.routes.find((r) => r.id === 'payroll');
  assert.deepEqual([payroll?.maxSessionAgeMs, payroll?.acrValues], [900_000, ['urn:corp:mfa']]);
  assert.equal(config.routes.find((r) => r.id === 'billing-grpc')?.upstreamProtocol, 'h2c');
  const res = vallumWith(SECRETS, 'validate', '--config', example);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /ok \(8 routes\)/);
});

const lineOfIn = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test("vallum validate refuses the example's placeholder secrets (CHANGE-ME), each at its line", () => {
  const text = readFileSync(example, 'utf8');
  const res = vallum('validate', '--config', example);
  assert.equal(res.status, 1, res.stdout);
  for (const [key, needle] of [
    ['shared_secret', 'shared_secret: CHANGE-ME'],
    ['cookie_secret', 'cookie_secret: CHANGE-ME'],
    ['idp.client_secret', 'client_secret: CHANGE-ME'],
  ] as const) {
    const col = text.split('\n')[lineOfIn(text, needle) - 1]!.indexOf('CHANGE-ME') + 1;
    assert.match(
      res.stderr,
      new RegExp(
        `${escapeRegExp(example)}:${lineOfIn(text, needle)}:${col}: ${escapeRegExp(key)} is a placeholder from the example \\(it contains 'CHANGE-ME'\\)`,
      ),
    );
  }
  const fromEnv = vallumWith({ ...SECRETS, VALLUM_COOKIE_SECRET: 'demo-only-cookie-secret-CHANGE-ME-0123456789' }, 'validate', '--config', example);
  assert.equal(fromEnv.status, 1);
  assert.match(fromEnv.stderr, /environment variable VALLUM_COOKIE_SECRET: cookie_secret is a placeholder from the example/);
});

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vallum-config-')), 'vallum.yaml');
  writeFileSync(file, text);
  return file;
}

const MINIMAL = `authenticate_service_url: http://authenticate.localhost:8000
idp:
  issuer: https://idp.example.com
  client_id: vallum
  client_secret: s
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:9
    allow_any_authenticated_user: true
`;

test('vallum validate refuses a route on the authenticate host, naming the route and authenticate_service_url', () => {
  const file = writeConfig(`${MINIMAL}  - from: http://Authenticate.localhost:8000\n    to: http://127.0.0.1:9\n    allow_any_authenticated_user: true\n`);
  const res = vallum('validate', '--config', file);
  assert.equal(res.status, 1, res.stdout);
  assert.match(
    res.stderr,
    new RegExp(
      `${escapeRegExp(file)}:12:11: from: 'http://Authenticate.localhost:8000' is the host of authenticate_service_url \\(${escapeRegExp(file)}:1:27\\); ` +
        'the authenticate service answers every request there, so this route would never be reached',
    ),
  );
});

test('vallum validate refuses a plain-http issuer without idp.allow_insecure_http, and accepts it with the setting', () => {
  const file = writeConfig(MINIMAL.replace('https://idp.example.com', 'http://127.0.0.1:8010'));
  const res = vallum('validate', '--config', file);
  assert.equal(res.status, 1, res.stdout);
  assert.match(
    res.stderr,
    new RegExp(
      `${escapeRegExp(file)}:3:11: idp\\.issuer 'http://127\\.0\\.0\\.1:8010' is plain http, which the sign-in refuses: use https, or set idp\\.allow_insecure_http: true`,
    ),
  );
  const allowed = writeConfig(MINIMAL.replace('https://idp.example.com', 'http://127.0.0.1:8010\n  allow_insecure_http: true'));
  assert.equal(vallum('validate', '--config', allowed).status, 0);
});

test('vallum validate checks the listen address that start would fail on', () => {
  const file = writeConfig(`address: 127.0.0.1:80000\n${MINIMAL}`);
  const res = vallum('validate', '--config', file);
  assert.equal(res.status, 1, res.stdout);
  assert.match(res.stderr, new RegExp(`${escapeRegExp(file)}:1:10: address: port out of range in '127\\.0\\.0\\.1:80000'`));
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
  assert.match(
    res.stderr,
    new RegExp(
      `${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${lineOf('pass_identity_header:')}:5: unknown key 'pass_identity_header' \\(did you mean 'pass_identity_headers'\\?\\)`,
    ),
  );
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
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: s, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
policy_dir: policies
`;
  const route = (policy: string) => `routes:\n  - from: http://app.localhost:8000\n    to: http://127.0.0.1:9001\n    policy: ${policy}\n`;
  // Problems in the config's own policies (found with the schema's), then ones found only once the named policy
  // files are read: `use` of an unknown name (the admin policy's too) and a typo inside a named policy file.
  const cases = [
    {
      text: `${head}admin_policy: { allow: { or: [{ emial: { is: a@example.com } }] } }\n${route('{ allow: { or: [{ domain: { iss: example.com } }] } }')}`,
      expect: [/vallum\.yaml:10:39: unknown operator 'iss' for domain/, /vallum\.yaml:6:31: unknown criterion 'emial'/],
    },
    {
      text: `${head}admin_policy: { use: admins }\n${route('{ use: staf }')}`,
      expect: [
        /vallum\.yaml:6:22: unknown named policy 'admins'/,
        /vallum\.yaml:10:20: unknown named policy 'staf' \(did you mean 'staff'\?\)/,
        /policies\/broken\.yaml:3:7: unknown criterion 'grops'/,
      ],
    },
  ];
  for (const { text, expect } of cases) {
    const file = join(dir, 'vallum.yaml');
    writeFileSync(file, text);
    const loaded = loadProblems(file);
    for (const pattern of expect)
      assert.ok(
        loaded.some((line) => pattern.test(line)),
        `${pattern} in\n${loaded.join('\n')}`,
      );
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
  assert.ok(readme.includes(`\`\`\`yaml\n${readFileSync(example, 'utf8')}\`\`\``), 'README.md and vallum.example.yaml differ: copy the file into the README');
});
