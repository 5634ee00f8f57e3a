#!/usr/bin/env node
// Import boundaries, checked on the TypeScript sources by `npm test`: no import cycles between modules (type-only
// imports aside: they vanish at run time), services never import services, packages never import services,
// `packages/testing` only from tests, `packages/policy` does no I/O and building the config view is pure (the
// config package's build-*.ts reach no I/O module, directly or through their imports, other workspaces' included:
// its loader reads the files),
// and every package a workspace imports is declared in its own package.json (`dependencies` for the code it ships,
// `devDependencies` too for its tests): the image installs each workspace's production dependencies and nothing else.
// Exits 1 with one line per violation.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const PURE_BUILD = /^packages\/config\/src\/build-[^/]*(?<!\.test)\.ts$/;
const POLICY_CODE = /^packages\/policy\/src\/.*(?<!\.test)\.ts$/;
const IO_MODULES = /^(node:)?(fs|fs\/promises|net|http|https|http2|tls|dgram|dns|child_process|cluster|worker_threads)$|^(ioredis|undici|openid-client)$/;

/** Workspace name → its folder, for every workspace with sources. */
function workspaces() {
  const names = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;
  const out = new Map();
  for (const dir of names) {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    out.set(pkg.name, dir);
  }
  return out;
}

/** Folder → the packages its package.json declares: { shipped: dependencies (+ peer, optional), all: + dev }. */
function declaredDependencies(dirs) {
  const out = new Map();
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    const shipped = new Set([pkg.name, ...['dependencies', 'peerDependencies', 'optionalDependencies'].flatMap((k) => Object.keys(pkg[k] ?? {}))]);
    out.set(dir, { shipped, all: new Set([...shipped, ...Object.keys(pkg.devDependencies ?? {})]) });
  }
  return out;
}

const BUILTIN = new Set(builtinModules);

function sourceFiles(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) sourceFiles(full, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Every import of a file: the specifier and whether it is type-only. Comments are removed first. */
function importsOf(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found = [];
  const statement = /(?:^|;|\n)\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of code.matchAll(statement)) {
    const typeOnly =
      Boolean(m[2]) ||
      (/^\{[^}]*\}$/.test(m[3].trim()) &&
        m[3]
          .replace(/[{}\s]/g, '')
          .split(',')
          .filter(Boolean)
          .every((n) => n.startsWith('type ')));
    found.push({ specifier: m[4], typeOnly });
  }
  for (const m of code.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) found.push({ specifier: m[1], typeOnly: false });
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ specifier: m[1], typeOnly: false });
  return found;
}

const kindOf = (dir) => (dir.startsWith('services/') ? 'service' : dir.startsWith('packages/') ? 'package' : 'other');

export function checkBoundaries() {
  const spaces = workspaces();
  const byDir = [...spaces.entries()].map(([name, dir]) => ({ name, dir }));
  const declared = declaredDependencies(spaces.values());
  const workspaceOf = (file) => byDir.find((w) => file.startsWith(`${join(root, w.dir)}/`));
  const problems = [];
  const graph = new Map();
  const io = new Map();
  for (const { dir } of byDir) {
    for (const file of sourceFiles(join(root, dir, 'src'))) {
      const from = workspaceOf(file);
      const isTest = file.endsWith('.test.ts') || from.dir === 'test' || from.dir === 'packages/testing' || from.dir === 'bench';
      const edges = [];
      for (const { specifier, typeOnly } of importsOf(readFileSync(file, 'utf8'))) {
        const where = relative(root, file);
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
          const to = workspaceOf(target);
          if (to && to.dir !== from.dir) problems.push(`${where}: reaches into ${to.dir} by a relative path (${specifier})`);
          if (!typeOnly && existsSync(target)) edges.push(target);
          continue;
        }
        const name = specifier
          .split('/')
          .slice(0, specifier.startsWith('@') ? 2 : 1)
          .join('/');
        if (!typeOnly && !specifier.startsWith('node:') && !BUILTIN.has(name)) {
          const { shipped, all } = declared.get(from.dir);
          if (!(isTest ? all : shipped).has(name)) {
            problems.push(
              `${where}: imports ${name}, which ${from.dir}/package.json does not declare in ${isTest ? 'dependencies or devDependencies' : 'dependencies'}`,
            );
          }
        }
        const to = spaces.get(name);
        // Another workspace's code is reached through its index: the purity checks follow it there.
        if (to && !typeOnly && to !== from.dir && existsSync(join(root, to, 'src/index.ts'))) edges.push(join(root, to, 'src/index.ts'));
        if (to) {
          if (kindOf(to) === 'service' && kindOf(from.dir) === 'service' && to !== from.dir) problems.push(`${where}: service imports service ${name}`);
          if (kindOf(to) === 'service' && kindOf(from.dir) === 'package') problems.push(`${where}: package imports service ${name}`);
          if (name === '@vallum/testing' && !isTest) problems.push(`${where}: @vallum/testing outside tests`);
        }
        if (from.dir === 'packages/policy' && !isTest && IO_MODULES.test(specifier)) problems.push(`${where}: packages/policy does I/O (${specifier})`);
        if (!typeOnly && IO_MODULES.test(specifier)) io.set(file, specifier);
      }
      graph.set(file, edges);
    }
  }
  for (const file of graph.keys()) {
    const where = relative(root, file);
    const policy = POLICY_CODE.test(where);
    if (!PURE_BUILD.test(where) && !policy) continue;
    const chain = ioChain(file, graph, io);
    if (!chain || (policy && chain.length === 1)) continue; // policy's own I/O imports are reported above
    const path = `${chain.map((f) => relative(root, f)).join(' → ')} (${io.get(chain.at(-1))})`;
    problems.push(
      policy
        ? `${where}: packages/policy does I/O through ${path}`
        : `${where}: building the config must not do I/O; it reaches ${path}; read files in the loader and pass them in`,
    );
  }
  for (const cycle of cyclesOf(graph)) problems.push(`import cycle: ${cycle.map((f) => relative(root, f)).join(' → ')}`);
  return problems;
}

/** The import path from `file` to a module that imports an I/O module (by non-type imports), or undefined. */
function ioChain(file, graph, io, seen = new Set()) {
  if (io.has(file)) return [file];
  seen.add(file);
  for (const next of graph.get(file) ?? []) {
    if (seen.has(next)) continue;
    const rest = ioChain(next, graph, io, seen);
    if (rest) return [file, ...rest];
  }
  return undefined;
}

/** Strongly connected components of more than one module (or a module importing itself), by Tarjan. */
function cyclesOf(graph) {
  let index = 0;
  const stack = [];
  const meta = new Map();
  const cycles = [];
  const visit = (v) => {
    const m = { index, low: index, onStack: true };
    index++;
    meta.set(v, m);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      const n = meta.get(w);
      if (!n) {
        visit(w);
        m.low = Math.min(m.low, meta.get(w).low);
      } else if (n.onStack) m.low = Math.min(m.low, n.index);
    }
    if (m.low === m.index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        meta.get(w).onStack = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push([...component.reverse(), component[0]]);
    }
  };
  for (const v of graph.keys()) if (!meta.has(v)) visit(v);
  return cycles;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = checkBoundaries();
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`\n${problems.length} import boundary violation(s); see scripts/check-boundaries.mjs for the rules.`);
    process.exit(1);
  }
  console.log('import boundaries: ok');
}
