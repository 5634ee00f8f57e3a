#!/usr/bin/env node
// `npm test`: make sure the machine has what the tests use (redis-server, redis-sentinel, chromium, docker-compose
// from Debian; installed when run as root, after any other apt job holding the dpkg/apt locks, otherwise the exact
// command is printed), build, then run every compiled test file with Node's test runner.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { APT_LOCK_TIMEOUT_S, aptInstallCommands, installDebianPackages } from './apt-lock.mjs';

const root = new URL('..', import.meta.url).pathname;
const NEEDED = [
  { bin: 'redis-server', pkg: 'redis-server' },
  { bin: 'redis-sentinel', pkg: 'redis-sentinel' },
  { bin: 'redis-cli', pkg: 'redis-tools' },
  { bin: 'chromium', pkg: 'chromium' },
  { bin: 'docker-compose', pkg: 'docker-compose' },
  { bin: 'nginx', pkg: 'nginx', path: '/usr/sbin/nginx' },
];

function onPath(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

function ensureDebianPackages() {
  const missing = NEEDED.filter((n) => !onPath(n.bin) && !(n.path && existsSync(n.path))).map((n) => n.pkg);
  if (missing.length === 0) return;
  const commands = aptInstallCommands(missing);
  const command = commands.join(' && ');
  if (process.getuid?.() !== 0) {
    console.error(`The tests need Debian packages that are missing: ${missing.join(', ')}.\nInstall them with:\n  sudo sh -c '${command}'`);
    process.exit(1);
  }
  console.log(`Installing missing Debian packages: ${missing.join(', ')}`);
  const failed = (status) => {
    console.error(`Could not install ${missing.join(', ')} (exit ${status}). Run as root:\n  ${command}`);
    process.exit(1);
  };
  // Another apt job (unattended-upgrades on a fresh machine) is waited for, not failed on: see apt-lock.mjs.
  const failure = installDebianPackages(missing);
  if (failure === 'lock') console.error(`another apt/dpkg process still holds its lock after ${APT_LOCK_TIMEOUT_S} s`);
  if (failure !== undefined) failed(failure);
}

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) findTests(full, out);
    else if (name.endsWith('.test.js') && /\/dist(-test)?\//.test(full)) out.push(full);
  }
  return out;
}

ensureDebianPackages();
// Lint and format first (Biome, biome.json): fix with `npx biome check --write .`.
const lint = spawnSync(join(root, 'node_modules/.bin/biome'), ['check', '--diagnostic-level=error', '.'], { cwd: root, stdio: 'inherit' });
if (lint.status !== 0) {
  console.error('lint or format check failed: run `npx biome check --write .` and look at what is left');
  process.exit(lint.status ?? 1);
}
const boundaries = spawnSync(process.execPath, [join(root, 'scripts/check-boundaries.mjs')], { stdio: 'inherit' });
if (boundaries.status !== 0) process.exit(boundaries.status ?? 1);
// Tests compile to dist-test/, apart from the code that ships in dist/ (the services' and packages' own tsconfig
// excludes them). Test output an older layout left in dist/ is removed first, so the check after the build can fail
// only on what this build emitted.
const shipped = () => findTests(root).filter((f) => /\/dist\//.test(f) && !relative(root, f).startsWith(`test${'/'}`));
for (const stale of shipped()) {
  const base = stale.slice(0, -'.js'.length);
  for (const ext of ['.js', '.js.map', '.d.ts', '.d.ts.map']) rmSync(base + ext, { force: true });
  // Without its build info the project is emitted again, so a test file it still compiles shows up below.
  rmSync(join(stale.slice(0, stale.indexOf(`${'/'}dist${'/'}`) + '/dist/'.length), '.tsbuildinfo'), { force: true });
}
const build = spawnSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const leaked = shipped();
if (leaked.length > 0) {
  console.error(
    `test files compiled into shipped output (exclude src/**/*.test.ts in their tsconfig.json):\n  ${leaked.map((f) => relative(root, f)).join('\n  ')}`,
  );
  process.exit(1);
}

// The runner starts the files in the order given, two at a time. The longest go first (measured, longest first), then
// the other cross-service files, then the short unit-test files, which fill the gaps at the end: a long file started
// last would run alone while the other core idles.
const LONGEST_FIRST = [
  'test/dist/security-signout.test.js',
  'test/dist/cli.test.js',
  'test/dist/security-credentials.test.js',
  'test/dist/identity-idps.test.js',
  'test/dist/workers.test.js',
  'test/dist/security-identity.test.js',
  'test/dist/tcp-tunnel.test.js',
  'test/dist/scale-out.test.js',
  'test/dist/browser-sign-in.test.js',
  'test/dist/identity-step-up.test.js',
  'test/dist/compose.test.js',
  'test/dist/security-memory.test.js',
  'test/dist/config-file.test.js',
  'test/dist/lifecycle.test.js',
  'test/dist/policy-cli.test.js',
  'test/dist/identity-distributed-claims.test.js',
  'test/dist/policy-reload.test.js',
  'test/dist/identity-sessions.test.js',
  'test/dist/redis-failover.test.js',
  'test/dist/security-secrets.test.js',
];
const rank = (file) => {
  const known = LONGEST_FIRST.indexOf(file);
  if (known !== -1) return known;
  return file.startsWith('test/') ? LONGEST_FIRST.length : LONGEST_FIRST.length + 1;
};
const only = process.argv.slice(2);
const files = findTests(root)
  .map((f) => relative(root, f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=180000', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_NO_WARNINGS: '1' },
});
process.exit(run.status ?? 1);
