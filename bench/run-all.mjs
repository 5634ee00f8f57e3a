#!/usr/bin/env node
// `npm run bench`: every table of issue 14 from one command. Runs, one after the other and each in its own process,
// the reverse-proxy benchmark with its peers and targets (proxy-bench.mjs, with --workers 2 --malloc --pieces --fresh 3), the
// policy decision curve (policy-decision.mjs) and every benchmark in scale/ (found by listing the directory), then
// repeats the lines that mark a target met, MISSED or not measured, bench by bench.
// Usage: npm run bench -- [--quick] [--only NAME,…] [--NAME "ARGS"]…, where NAME is proxy-bench, policy-decision or a
// file name in scale/ without .mjs (e.g. reload), and ARGS are that benchmark's own options, added after its
// defaults: npm run bench -- --proxy-bench "--rounds 5 --duration 5" --reload "--routes 20000". --quick passes
// --quick to each (a short smoke run: every target runs, the figures mean little).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const benches = [
  { name: 'proxy-bench', file: 'proxy-bench.mjs', defaults: ['--workers', '2', '--malloc', '--pieces', '--fresh', '3'] },
  { name: 'policy-decision', file: 'policy-decision.mjs', defaults: [] },
  ...readdirSync(here('./scale'))
    .filter((f) => f.endsWith('.mjs'))
    .sort()
    .map((f) => ({ name: f.slice(0, -'.mjs'.length), file: `scale/${f}`, defaults: [] })),
];

const usage = `usage: npm run bench -- [--quick] [--only NAME,…] [--NAME "ARGS"]…; NAME is one of ${benches.map((b) => b.name).join(', ')}`;
const extra = new Map();
let quick = false;
let only;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  const name = arg.startsWith('--') ? arg.slice(2) : undefined;
  if (name === 'quick') quick = true;
  else if (name === 'only' && argv[i + 1] !== undefined) only = argv[++i].split(',');
  else if (benches.some((b) => b.name === name) && argv[i + 1] !== undefined) extra.set(name, argv[++i].split(/\s+/).filter(Boolean));
  else {
    console.error(`unknown or incomplete option ${arg}\n${usage}`);
    process.exit(2);
  }
}
const unknown = (only ?? []).filter((n) => !benches.some((b) => b.name === n));
if (unknown.length > 0) {
  console.error(`--only: no benchmark named ${unknown.join(', ')}\n${usage}`);
  process.exit(2);
}

/** Runs one benchmark, its output passed through; resolves with its exit code and the lines that judge a target. */
function run(bench) {
  const args = [here(`./${bench.file}`), ...bench.defaults, ...(quick ? ['--quick'] : []), ...(extra.get(bench.name) ?? [])];
  console.log(`\n## ${bench.name}: node ${bench.file} ${args.slice(1).join(' ')}\n`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const verdicts = [];
  let partial = '';
  let heading = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const text = partial + chunk;
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      // A table row is named by the heading above its table (e.g. the policy shape).
      if (line.trim() !== '' && !line.startsWith('|') && !line.startsWith('- ')) heading = line.trim();
      if (/\b(met|MISSED|not measured|SKIPPED|reported)\b/.test(line)) verdicts.push(line.startsWith('|') ? `${heading} ${line}` : line);
    }
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? signal, verdicts })));
}

const startedAt = Date.now();
const outcomes = [];
for (const bench of benches.filter((b) => only === undefined || only.includes(b.name))) {
  const t0 = Date.now();
  const { code, verdicts } = await run(bench);
  outcomes.push({ bench, code, verdicts, seconds: (Date.now() - t0) / 1000 });
}

console.log(`\n## Targets, from every benchmark (${quick ? 'quick run: figures for a smoke test only' : 'full run'})\n`);
for (const { bench, code, verdicts, seconds } of outcomes) {
  console.log(`${bench.name} (${seconds.toFixed(0)} s${code === 0 ? '' : `, FAILED: exit ${code}`}):`);
  for (const line of verdicts) console.log(`  ${line.trim()}`);
  if (verdicts.length === 0) console.log('  (no target lines)');
}
console.log(`\n${outcomes.length} of ${benches.length} benchmarks in ${((Date.now() - startedAt) / 60000).toFixed(1)} min`);
process.exit(outcomes.every((o) => o.code === 0) ? 0 : 1);
