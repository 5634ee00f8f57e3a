// `vallum policy explain|test|diff` as a user runs them: output and exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VALLUM_BIN } from './harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function vallum(args: string[], cwd = ROOT): { code: number | null; out: string } {
  const run = spawnSync(process.execPath, [VALLUM_BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, VALLUM_CONFIG: '' } });
  return { code: run.status, out: run.stdout + run.stderr };
}

function config(dir: string, name: string, wikiPolicy: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: s, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
policy_dir: policies
routes:
  - name: wiki
    from: http://wiki.localhost:8000
    to: http://127.0.0.1:9001
    policy: ${wikiPolicy}
  - name: app
    from: http://app.localhost:8000
    to: http://127.0.0.1:9002
    policy: { use: no-admin-path }
`,
  );
  return file;
}

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-policy-cli-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(
    join(dir, 'policies', 'no-admin-path.yaml'),
    'allow:\n  or:\n    - domain: example.com\ndeny:\n  and:\n    - http_path: { starts_with: /admin }\n    - nor: [{ groups: { has: admins } }]\n',
  );
  writeFileSync(
    join(dir, 'users.yaml'),
    'users:\n  ada: { email: ada@example.com, groups: [admins] }\n  bob: { email: bob@example.com, groups: [engineering] }\n  sam: { email: sam@example.com, groups: [sales] }\n',
  );
  return dir;
}

test('policy test: the shipped fixtures pass (exit 0); a failing case prints its reasons (exit 1)', () => {
  const shipped = vallum(['policy', 'test']);
  assert.equal(shipped.code, 0, shipped.out);
  assert.match(shipped.out, /policy\/tests\/admins-only\.yaml\n {2}ok {4}an admin at example\.com enters/);
  assert.match(shipped.out, /\d+ passed, 0 failed/);

  const dir = workspace();
  config(dir, 'vallum.yaml', '{ use: no-admin-path }');
  const fixture = join(dir, 'wrong.yaml');
  writeFileSync(
    fixture,
    `config: vallum.yaml
users:
  bob: { email: bob@example.com }
cases:
  - { name: bob reads, user: bob, request: { route: app, path: /docs }, expect: allow }
  - { name: bob reaches admin, user: bob, request: { route: app, path: /admin/x }, expect: allow }
`,
  );
  const failing = vallum(['policy', 'test', fixture]);
  assert.equal(failing.code, 1, failing.out);
  assert.match(failing.out, /ok {4}bob reads/);
  assert.match(
    failing.out,
    /FAIL {2}bob reaches admin: expected allow, got deny\n {8}- deny-matched: denied: path under \/admin is not allowed\n {8}- deny-matched: denied: not member of group admins\n/,
  );
  assert.match(failing.out, /1 passed, 1 failed/);

  writeFileSync(fixture, 'config: vallum.yaml\nusers:\n  bob: { email: bob@example.com }\ncases:\n  - { user: bbo, expect: allow }\n');
  const bad = vallum(['policy', 'test', fixture]);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /wrong\.yaml: cases\[0\]\.user: unknown user 'bbo' \(did you mean 'bob'\?\); expected one of bob, anonymous/);
  writeFileSync(fixture, 'config: vallum.yaml\ncases:\n  - { user: anonymous, expect: deny, reqest: {} }\n');
  assert.match(vallum(['policy', 'test', fixture]).out, /unknown key 'reqest' \(did you mean 'request'\?\)/);
});

test('policy explain: decision, reasons, and the global and route verdicts; exit 0 allow, 1 deny, 2 usage', () => {
  const dir = workspace();
  const file = config(dir, 'vallum.yaml', '{ use: no-admin-path }');
  const denied = vallum(['policy', 'explain', '--config', file, '--route', 'app', '--email', 'bob@example.com', '--path', '/admin', '--method', 'GET']);
  assert.equal(denied.code, 1, denied.out);
  assert.match(
    denied.out,
    /^route app \(http:\/\/app\.localhost:8000\), bob@example\.com GET \/admin, policy version \S+\ndecision: DENY\n {2}- deny-matched: /,
  );
  const allowed = vallum(['policy', 'explain', '--config', file, '--route', 'app', '--email', 'ada@example.com', '--groups', 'admins', '--path', '/admin']);
  assert.equal(allowed.code, 0, allowed.out);
  assert.match(allowed.out, /decision: ALLOW\n {2}- domain-ok: allowed: email domain example\.com/);
  const unknown = vallum(['policy', 'explain', '--config', file, '--route', 'ap', '--email', 'bob@example.com']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.out, /no route 'ap'.*routes: wiki, app/);
  assert.equal(vallum(['policy', 'explain', '--config', file]).code, 2);
  assert.equal(vallum(['policy', 'nope']).code, 2);
});

test('policy explain --acr --auth-time: the acr and auth_age criteria decide on the sign-in the identity had', () => {
  const dir = workspace();
  const file = config(dir, 'vallum.yaml', '{ allow: { and: [{ acr: urn:corp:mfa }, { auth_age: { less_than: 15m } }] } }');
  const explain = (acr: string, authTime: string) =>
    vallum([
      'policy',
      'explain',
      '--config',
      file,
      '--route',
      'wiki',
      '--email',
      'ada@example.com',
      '--acr',
      acr,
      '--auth-time',
      authTime,
      '--at',
      '2027-01-31T09:00:00Z',
    ]);
  const recent = explain('urn:corp:mfa', '2027-01-31T08:50:00Z');
  assert.equal(recent.code, 0, recent.out);
  assert.match(recent.out, /acr-ok: allowed: sign-in assurance urn:corp:mfa\n {2}- auth-age-ok: allowed: signed in within 15m/);
  const old = explain('urn:corp:mfa', '2027-01-31T08:30:00Z');
  assert.equal(old.code, 1, old.out);
  assert.match(old.out, /auth-age-unauthorized: requires signing in again \(at most 15m ago\)/);
  const weak = explain('urn:corp:password', '2027-01-31T08:50:00Z');
  assert.equal(weak.code, 1, weak.out);
  assert.match(weak.out, /acr-unauthorized: requires sign-in assurance urn:corp:mfa/);
  assert.equal(explain('urn:corp:mfa', 'yesterday').code, 2, 'a bad --auth-time is a usage error');

  // diff: requiring a second factor takes the route from the users who signed in without one.
  const users = join(dir, 'mfa-users.yaml');
  writeFileSync(users, 'users:\n  ada: { email: ada@example.com, acr: urn:corp:mfa }\n  bob: { email: bob@example.com, acr: urn:corp:password }\n');
  const before = config(dir, 'old.yaml', '{ allow: { or: [{ domain: example.com }] } }');
  const after = config(dir, 'new.yaml', '{ allow: { and: [{ domain: example.com }, { acr: [urn:corp:mfa] }] } }');
  const diff = vallum(['policy', 'diff', before, after, '--users', users]);
  assert.equal(diff.code, 0, diff.out);
  assert.match(diff.out, /^- bob loses wiki GET \/$/m);
  assert.doesNotMatch(diff.out, /ada loses wiki/);
});

test('policy diff: who gains and loses access to which route, path and method', () => {
  const dir = workspace();
  const before = config(dir, 'old.yaml', '{ allow: { or: [{ groups: { has: engineering } }] } }');
  const after = config(dir, 'new.yaml', '{ allow: { or: [{ groups: { has: sales } }, { http_method: POST }] } }');
  const out = vallum(['policy', 'diff', before, after, '--users', join(dir, 'users.yaml')]);
  assert.equal(out.code, 0, out.out);
  assert.match(out.out, /^- bob loses wiki GET \/$/m);
  assert.match(out.out, /^\+ sam gains wiki GET \/$/m);
  assert.match(out.out, /^\+ ada gains wiki POST \/$/m, 'methods named in a policy are probed');
  assert.doesNotMatch(out.out, / app /, 'an unchanged route shows no change');
  const same = vallum(['policy', 'diff', before, before, '--users', join(dir, 'users.yaml')]);
  assert.match(same.out, /no access changes for 3 users/);
  assert.equal(vallum(['policy', 'diff', before]).code, 2);
});
