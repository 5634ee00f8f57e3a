#!/usr/bin/env node
// Policy decision benchmark: µs per decision for policies of 1, 100 and 10,000 rules, compiled once, against a
// baseline measured in the same run (a hand-written closure doing the 1-rule check). Run: npx tsc -b && node
// bench/policy-decision.mjs [--quick]. Figures go in bench/README.md.
import { compilePolicy, evaluatePolicy } from '../packages/policy/dist/index.js';

const quick = process.argv.includes('--quick');
const TARGET_MS = quick ? 150 : 1000;

/** N allow blocks `groups has gI and path under /pI`, one deny block; the user matches only the last block. */
function policyOf(n) {
  const allow = Array.from({ length: n }, (_, i) => ({ and: [{ groups: { has: `g${i}` } }, { http_path: { starts_with: `/p${i}` } }] }));
  return { allow, deny: { or: [{ groups: { has: 'contractors' } }, { source_ip: ['192.0.2.0/24'] }] } };
}

function measure(fn) {
  for (let i = 0; i < 2000; i++) fn(); // warm up the JIT
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < TARGET_MS * 1e6) {
    for (let i = 0; i < 1000; i++) fn();
    iterations += 1000;
    elapsed = Number(process.hrtime.bigint() - start);
  }
  return elapsed / iterations / 1000; // µs per call
}

const request = (n) => ({ method: 'GET', host: 'app.localhost', path: `/p${n - 1}/x`, sourceIp: '10.0.0.1', headers: {} });
const identity = (n) => ({ sub: 'u', email: 'u@example.com', groups: [`g${n - 1}`, 'engineering'], claims: {} });

const baselineIdentity = identity(1);
const baselineRequest = request(1);
let sink = 0;
const baseline = measure(() => {
  const ok = baselineIdentity.groups.includes('g0') && baselineRequest.path.startsWith('/p0') && !baselineIdentity.groups.includes('contractors');
  sink += ok ? 1 : 0;
});

const rows = [];
for (const n of [1, 100, 10_000]) {
  const compileStart = process.hrtime.bigint();
  const policy = compilePolicy(policyOf(n));
  const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6;
  const who = identity(n);
  const req = request(n);
  const outsider = { ...who, groups: ['sales'] };
  if (!evaluatePolicy(policy, who, req, 0).allow || evaluatePolicy(policy, outsider, req, 0).allow) throw new Error('benchmark policy is wrong');
  const allow = measure(() => (sink += evaluatePolicy(policy, who, req, 0).reasons.length));
  const deny = measure(() => (sink += evaluatePolicy(policy, outsider, req, 0).reasons.length));
  rows.push({ rules: n, compileMs, allow, deny });
}

console.log(`node ${process.version}, ${quick ? 'quick' : 'full'} run; baseline (hand-written 1-rule check): ${baseline.toFixed(4)} µs`);
console.log('| rules | compile (ms) | allow, last rule matches (µs) | × baseline | deny, no rule matches (µs) | × baseline | allow × 1-rule policy |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.rules.toLocaleString('en')} | ${r.compileMs.toFixed(1)} | ${r.allow.toFixed(3)} | ${(r.allow / baseline).toFixed(0)} | ${r.deny.toFixed(3)} | ${(r.deny / baseline).toFixed(0)} | ${(r.allow / rows[0].allow).toFixed(1)} |`,
  );
}
if (sink === 0.5) console.log(sink); // keeps the measured work observable
