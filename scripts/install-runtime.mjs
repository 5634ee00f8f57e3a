#!/usr/bin/env node
// What the container image runs, laid out in DIR: the shipped workspaces (the `vallum` command and every workspace
// it depends on, found from their package.json `dependencies`) with their package.json, compiled dist/ and bin/, and
// only their production dependencies from the lockfile. No TypeScript, no tests, no test or bench workspaces, no dev
// dependencies. The Dockerfile's build stage runs it after `tsc -b`; test/src/image.test.ts runs it into a temp dir
// and starts `vallum` from there, so a package used at run time but not declared fails `npm test`.
//
//   node scripts/install-runtime.mjs DIR        (after `npx tsc -b`; DIR must not exist or be empty)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
/** The workspace the image's ENTRYPOINT runs. */
const ENTRY_WORKSPACE = 'cmd/vallum';
/** Compiled output kept in dist/: JavaScript and its source maps (stack traces), not declarations or build info. */
const KEEP_IN_DIST = (name) => name.endsWith('.js') || name.endsWith('.js.map');

/** The entry workspace and every workspace reachable through production `dependencies`, as folders. */
export function shippedWorkspaces() {
  const folders = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;
  const byName = new Map();
  for (const dir of folders) byName.set(JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).name, dir);
  const shipped = new Set();
  const visit = (dir) => {
    if (shipped.has(dir)) return;
    shipped.add(dir);
    const { dependencies = {} } = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    for (const name of Object.keys(dependencies)) if (byName.has(name)) visit(byName.get(name));
  };
  visit(ENTRY_WORKSPACE);
  return [...shipped].sort();
}

export function installRuntime(out) {
  if (existsSync(out) && readdirSync(out).length > 0) throw new Error(`${out} is not empty`);
  mkdirSync(out, { recursive: true });
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(root, file), join(out, file));
  const workspaces = shippedWorkspaces();
  for (const dir of workspaces) {
    const dist = join(root, dir, 'dist');
    if (!existsSync(dist)) throw new Error(`${dir}/dist is missing: build first (npx tsc -b)`);
    cpSync(join(root, dir, 'package.json'), join(out, dir, 'package.json'));
    cpSync(dist, join(out, dir, 'dist'), {
      recursive: true,
      filter: (from) => statSync(from).isDirectory() || (KEEP_IN_DIST(from) && !basename(from).includes('.test.')),
    });
    if (existsSync(join(root, dir, 'bin'))) cpSync(join(root, dir, 'bin'), join(out, dir, 'bin'), { recursive: true });
  }
  // The root lockfile pins every version; --workspace limits the install to what the entry workspace needs in
  // production. --prefer-offline: after the build's `npm ci` everything is in npm's cache.
  const args = ['ci', '--omit=dev', `--workspace=${ENTRY_WORKSPACE}`, '--include-workspace-root=false', '--no-audit', '--no-fund', '--prefer-offline'];
  const npm = spawnSync('npm', args, { cwd: out, stdio: ['ignore', 'inherit', 'inherit'] });
  if (npm.error) throw npm.error;
  if (npm.status !== 0) throw new Error(`npm ${args.join(' ')} exited with ${npm.status}`);
  return workspaces;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node scripts/install-runtime.mjs DIR');
    process.exit(2);
  }
  try {
    const workspaces = installRuntime(resolve(out));
    console.log(`runtime in ${out}: ${workspaces.join(', ')}`);
  } catch (err) {
    console.error(`install-runtime: ${err.message}`);
    process.exit(1);
  }
}
