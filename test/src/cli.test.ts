// The `vallum` command as a user meets it: the real bin, spawned. Usage errors are one line and exit 2; every
// command has --help with examples; the VALLUM_* variables are listed in --help and in the README.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV_VARIABLES, environmentTable } from '@vallum/cmd';
import { MALLOC_SETTINGS, NODE_FLAGS } from './dockerfile.js';
import { getFreePort } from '@vallum/testing';
import { stopChild, VALLUM_BIN } from './harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function vallum(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [VALLUM_BIN, ...args],
      { encoding: 'utf8', timeout: 20_000, env: { ...process.env, VALLUM_CONFIG: '' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Each command is its own process, so a list of them runs a few at a time rather than one after another. */
async function vallumEach(argsList: ReadonlyArray<readonly string[]>): Promise<Run[]> {
  const results: Run[] = new Array(argsList.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < argsList.length; i = next++) results[i] = await vallum(...argsList[i]!);
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return results;
}

test('vallum --version and -V print the version of the package', async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'cmd/vallum/package.json'), 'utf8')) as { version: string };
  for (const res of await vallumEach([['--version'], ['-V']])) {
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), `vallum ${version}`);
  }
});

test('vallum --help lists every command, service-account included, and every VALLUM_* variable with its setting', async () => {
  const res = await vallum('--help');
  assert.equal(res.code, 0, res.stderr);
  for (const command of ['validate', 'policy', 'service-account', 'gen-secret', 'tcp', 'demo', 'demo-idp', 'demo-app']) {
    assert.match(res.stdout, new RegExp(`^  ${command} `, 'm'), `${command} is listed`);
  }
  assert.match(res.stdout, /service-account .*create\|list\|revoke/);
  for (const v of ENV_VARIABLES) assert.match(res.stdout, new RegExp(`^  ${v.name} +${v.overrides.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  assert.match(res.stdout, /^ {2}VALLUM_REDIS_URL +cache\.redis_url$/m);
  assert.match(res.stdout, /^examples:/m);
});

test('each command has its own --help with examples', async () => {
  const commands = [
    ['policy', '--help'],
    ['policy', 'explain', '--help'],
    ['policy', 'test', '--help'],
    ['policy', 'diff', '--help'],
    ['service-account', '--help'],
    ['service-account', 'create', '--help'],
    ['service-account', 'list', '--help'],
    ['service-account', 'revoke', '--help'],
    ['gen-secret', '--help'],
    ['tcp', '--help'],
    ['demo', '--help'],
    ['demo-idp', '--help'],
    ['demo-app', '--help'],
  ];
  const [validate, ...results] = await vallumEach([['validate', '--help'], ...commands]);
  assert.equal(validate!.code, 0, validate!.stderr);
  assert.match(validate!.stdout, /^usage: vallum validate --config FILE/);
  assert.match(validate!.stdout, /^examples:\n {2}vallum validate --config vallum\.yaml/m);
  for (const [i, args] of commands.entries()) {
    const res = results[i]!;
    assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stdout, new RegExp(`^usage: vallum ${args.slice(0, -1).join(' ')}`), args.join(' '));
    assert.match(res.stdout, /^examples:\n {2}\S/m, `${args.join(' ')} shows examples`);
  }
});

test('usage errors exit 2 with one line on stderr and no stack trace', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--bogus'], /^vallum: unknown option '--bogus' \(see 'vallum --help'\)$/],
    [['frobnicate'], /^vallum: unknown command 'frobnicate'/],
    [['validate', '--bogus'], /^vallum validate: unknown option '--bogus'/],
    [['validate', '--config'], /^vallum validate: option '-c, --config' needs a value/],
    [['validate'], /^vallum validate: --config FILE is required/],
    [[], /^vallum: --config FILE is required/],
    [['--config'], /^vallum: option '-c, --config' needs a value/],
    [['gen-secret', 'extra'], /^vallum gen-secret: unexpected argument 'extra'/],
    [['policy', 'explain', '--nope'], /^vallum policy explain: unknown option '--nope'/],
    [['policy', 'frobnicate'], /^vallum policy: unknown command 'frobnicate'/],
    [['service-account', 'list', '--nope'], /^vallum service-account list: unknown option '--nope'/],
    [['service-account', 'frobnicate'], /^vallum service-account: unknown command 'frobnicate'/],
    [['demo', '--nope'], /^vallum demo: unknown option '--nope'/],
    [['tcp'], /^vallum tcp: expected one HOST:PORT/],
    [['tcp', 'db.example.com'], /^vallum tcp: expected one HOST:PORT/],
    [['tcp', 'db.example.com:5432', '--listen', 'nowhere'], /^vallum tcp: --listen: expected host:port/],
    [['tcp', 'db.example.com:5432', '--proxy-url', 'ftp://x'], /^vallum tcp: --proxy-url must be an http\(s\) URL/],
  ];
  const results = await vallumEach(cases.map(([args]) => args));
  for (const [i, [args, message]] of cases.entries()) {
    const res = results[i]!;
    assert.equal(res.code, 2, `vallum ${args.join(' ')}: ${res.stderr}`);
    assert.equal(res.stderr.trimEnd().split('\n').length, 1, `one line for vallum ${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr.trimEnd(), message);
    assert.doesNotMatch(res.stderr, /^\s*at /m, 'no stack frames');
    assert.equal(res.stdout, '');
  }
});

test('a configuration error keeps its file:line:col report and exit code 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-cli-'));
  const file = join(dir, 'vallum.yaml');
  writeFileSync(file, 'adress: 127.0.0.1:8000\n');
  const res = await vallum('validate', '--config', file);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1:1: unknown key 'adress'`));
});

test('gen-secret prints a fresh 32-byte base64 secret that the config loader accepts as shared_secret and cookie_secret', async () => {
  const secrets = (await vallumEach([['gen-secret'], ['gen-secret'], ['gen-secret']])).map((res) => {
    assert.equal(res.code, 0, res.stderr);
    return res.stdout.trim();
  });
  for (const s of secrets) {
    assert.match(s, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(s, 'base64').length, 32);
  }
  assert.equal(new Set(secrets).size, 3, 'every run prints a different secret');
  const [shared, cookie, client] = secrets as [string, string, string];
  const dir = mkdtempSync(join(tmpdir(), 'vallum-cli-'));
  const file = join(dir, 'vallum.yaml');
  const example = readFileSync(join(ROOT, 'vallum.example.yaml'), 'utf8');
  writeFileSync(
    file,
    example
      .replace(/^shared_secret: .*$/m, `shared_secret: "${shared}"`)
      .replace(/^cookie_secret: .*$/m, `cookie_secret: "${cookie}"`)
      .replace(/^(\s+client_secret:) \S+/m, `$1 "${client}"`)
      .replace(/^policy_dir: (.*)$/m, (_, dir: string) => `policy_dir: ${join(ROOT, dir)}`),
  );
  const res = await vallum('validate', '--config', file);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /: ok \(/);
});

test("the README's environment-variable table is the generated one (regenerate: node scripts/write-readme-env.mjs)", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, /^### Environment variables$/m);
  assert.ok(readme.includes(`\n${environmentTable()}\n`), 'README.md table differs from environmentTable(): run node scripts/write-readme-env.mjs');
});

test('every VALLUM_* variable the shipped code reads from the environment is in the documented list', () => {
  const documented = new Set(ENV_VARIABLES.map((v) => v.name));
  const read = new Set<string>();
  const sourceDirs = ['packages', 'services', 'cmd'].flatMap((top) => readdirSync(join(ROOT, top)).map((name) => join(ROOT, top, name, 'src')));
  const walk = (dir: string): string[] => {
    try {
      return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
      });
    } catch {
      return [];
    }
  };
  for (const file of sourceDirs.flatMap(walk)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/process\.env(?:\.|\[['"])(VALLUM_[A-Z0-9_]+)/g)) read.add(m[1]!);
  }
  assert.ok(read.size > 0);
  for (const name of read) assert.ok(documented.has(name), `${name} is read from process.env but missing from ENV_VARIABLES (cmd/vallum/src/env-variables.ts)`);
});

// The command npm links as `vallum` is a shell launcher: glibc reads MALLOC_* only at process start (issue 14).
const LAUNCHER = join(ROOT, 'cmd/vallum/bin/vallum');

test('the vallum launcher starts node on vallum.js with the allocator settings and the V8 flags, keeping values already set and every argument', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'cmd/vallum/package.json'), 'utf8')) as { bin: { vallum: string } };
  assert.equal(join(ROOT, 'cmd/vallum', pkg.bin.vallum), LAUNCHER);
  const dir = mkdtempSync(join(tmpdir(), 'vallum-launcher-'));
  // A stand-in `node` first on PATH shows what the launcher runs; npm links the launcher through a symlink.
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin/node'), '#!/bin/sh\nenv | grep ^MALLOC_ | sort\nfor a in "$@"; do echo "arg:$a"; done\n');
  chmodSync(join(dir, 'bin/node'), 0o755);
  symlinkSync(LAUNCHER, join(dir, 'vallum'));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` };
  for (const name of Object.keys(MALLOC_SETTINGS)) delete env[name];
  const run = spawnSync(join(dir, 'vallum'), ['--config', 'my file.yaml'], { encoding: 'utf8', env });
  assert.equal(run.status, 0, run.stderr);
  const expected = Object.entries(MALLOC_SETTINGS)
    .map(([name, value]) => `${name}=${value}`)
    .sort();
  assert.deepEqual(run.stdout.trim().split('\n'), [
    ...expected,
    ...NODE_FLAGS.map((f) => `arg:${f}`),
    `arg:${join(ROOT, 'cmd/vallum/bin/vallum.js')}`,
    'arg:--config',
    'arg:my file.yaml',
  ]);
  const own = spawnSync(join(dir, 'vallum'), [], { encoding: 'utf8', env: { ...env, MALLOC_TOP_PAD_: '131072' } });
  assert.match(own.stdout, /^MALLOC_TOP_PAD_=131072$/m);
  assert.match(own.stdout, /^MALLOC_TRIM_THRESHOLD_=67108864$/m);
});

test('a process started by the vallum launcher is vallum itself, with the allocator settings in its environment', async () => {
  const port = await getFreePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${process.execPath.replace(/\/node$/, '')}:${process.env.PATH}` };
  for (const name of Object.keys(MALLOC_SETTINGS)) delete env[name];
  const child = spawn(LAUNCHER, ['demo-app', '--port', String(port), '--jwks-url', 'http://127.0.0.1:9/jwks.json'], { env, stdio: 'ignore' });
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.body?.cancel().then(() => true),
        () => false,
      );
      if (up) break;
      assert.ok(Date.now() < deadline, 'demo-app answers within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    // exec: the launcher's PID is the node process serving the port.
    assert.match(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8'), /vallum\.js\0demo-app/);
    const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
    for (const [name, value] of Object.entries(MALLOC_SETTINGS)) assert.ok(environ.includes(`${name}=${value}`), `${name}=${value}`);
  } finally {
    await stopChild(child);
  }
});
