#!/usr/bin/env node
// Policy decision benchmark: µs per allow and deny decision for policies of 1 to 100,000 rules, compiled once, in
// two typical shapes, indexed (what Vallum runs) and as a linear scan of every rule (the reference the index is
// tested against, i.e. the evaluation before the index), with a hand-written 1-rule closure as the baseline, all in
// the same run. Targets (issue 14): an allow decision ≤ 5 µs at 10,000 rules and ≤ 0.3 µs at one rule.
// Run: npx tsc -b && node bench/policy-decision.mjs [--quick]. Figures go in bench/README.md.
import { compileLinear } from '../packages/policy/dist/compile.js';
import { compilePolicy, evaluatePolicy } from '../packages/policy/dist/index.js';

const quick = process.argv.includes('--quick');
const TARGET_MS = quick ? 100 : 500;
const SIZES = [1, 10, 100, 1_000, 10_000, 100_000];
/** The linear scan is measured up to this size; beyond it a decision takes tens of milliseconds. */
const LINEAR_MAX = 10_000;

const SHAPES = {
  /** N allow blocks `groups has gI and path under /pI`, one deny block; the user matches only the last block. */
  'groups + path blocks': {
    policy: (n) => ({
      allow: Array.from({ length: n }, (_, i) => ({ and: [{ groups: { has: `g${i}` } }, { http_path: { starts_with: `/p${i}` } }] })),
      deny: { or: [{ groups: { has: 'contractors' } }, { source_ip: ['192.0.2.0/24'] }] },
    }),
    member: (n) => ({ sub: 'u', email: 'u@example.com', groups: [`g${n - 1}`, 'engineering'], claims: {} }),
    request: (n) => ({ method: 'GET', host: 'app.localhost', path: `/p${n - 1}/x`, sourceIp: '10.0.0.1', headers: {} }),
  },
  /** One allow `or` of N `email is userK@x`; the user is the last address. */
  'or of email addresses': {
    policy: (n) => ({
      allow: { or: Array.from({ length: n }, (_, i) => ({ email: { is: `user${i}@example.com` } })) },
      deny: { or: [{ groups: { has: 'contractors' } }] },
    }),
    member: (n) => ({ sub: 'u', email: `user${n - 1}@example.com`, groups: ['engineering'], claims: {} }),
    request: () => ({ method: 'GET', host: 'app.localhost', path: '/', sourceIp: '10.0.0.1', headers: {} }),
  },
};

function measure(fn) {
  // Warm up the JIT for 20 ms, then time batches of about 1 ms so the clock's own cost stays out of the figure.
  let calls = 0;
  const warm = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - warm) < 20e6) {
    fn();
    calls++;
  }
  const batch = Math.max(1, Math.min(100_000, Math.round(calls / 20)));
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < TARGET_MS * 1e6) {
    for (let i = 0; i < batch; i++) fn();
    iterations += batch;
    elapsed = Number(process.hrtime.bigint() - start);
  }
  return elapsed / iterations / 1000; // µs per call
}

let sink = 0;
const baselineIdentity = SHAPES['groups + path blocks'].member(1);
const baselineRequest = SHAPES['groups + path blocks'].request(1);
const baseline = measure(() => {
  const ok = baselineIdentity.groups.includes('g0') && baselineRequest.path.startsWith('/p0') && !baselineIdentity.groups.includes('contractors');
  sink += ok ? 1 : 0;
});

const f = (us) => (us === undefined ? '—' : us < 10 ? us.toFixed(3) : us.toFixed(0));
/**
 * The targets are absolute µs on a quiet machine, where the baseline measured 0.018 µs (bench/README.md, issue 6); on
 * a loaded machine every figure grows with the baseline, so each target is also judged as that multiple of it.
 */
const QUIET_BASELINE_US = 0.018;
const TARGETS = new Map([
  [1, 0.3],
  [10_000, 5],
]);
const mark = (n, us) => {
  const target = TARGETS.get(n);
  if (target === undefined) return '—';
  const times = target / QUIET_BASELINE_US;
  return `${us <= target ? 'met' : 'MISSED'} (≤ ${target} µs); ${us / baseline <= times ? 'met' : 'MISSED'} (≤ ${times.toFixed(0)}× baseline)`;
};

console.log(`node ${process.version}, ${quick ? 'quick' : 'full'} run; baseline (hand-written 1-rule check): ${baseline.toFixed(4)} µs`);
for (const [name, shape] of Object.entries(SHAPES)) {
  console.log(`\n${name}`);
  console.log(
    '| rules | compile (ms) | allow (µs) | target | × baseline | deny, no rule matches (µs) | linear scan: allow (µs) | linear: deny (µs) | allow, linear ÷ indexed |',
  );
  console.log('|---:|---:|---:|---|---:|---:|---:|---:|---:|');
  for (const n of SIZES) {
    const value = shape.policy(n);
    const compileStart = process.hrtime.bigint();
    const policy = compilePolicy(value);
    const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6;
    const who = shape.member(n);
    const outsider = { ...who, email: 'stranger@example.com', groups: ['sales'] };
    const req = shape.request(n);
    if (!evaluatePolicy(policy, who, req, 0).allow || evaluatePolicy(policy, outsider, req, 0).allow) throw new Error('benchmark policy is wrong');
    const allow = measure(() => (sink += evaluatePolicy(policy, who, req, 0).reasons.length));
    const deny = measure(() => (sink += evaluatePolicy(policy, outsider, req, 0).reasons.length));
    let linearAllow;
    let linearDeny;
    if (n <= LINEAR_MAX) {
      const linear = compileLinear(value);
      linearAllow = measure(() => (sink += evaluatePolicy(linear, who, req, 0).reasons.length));
      linearDeny = measure(() => (sink += evaluatePolicy(linear, outsider, req, 0).reasons.length));
    }
    const ratio = linearAllow === undefined ? '—' : `${(linearAllow / allow).toFixed(1)}×`;
    console.log(
      `| ${n.toLocaleString('en')} | ${compileMs.toFixed(1)} | ${f(allow)} | ${mark(n, allow)} | ${(allow / baseline).toFixed(0)} | ${f(deny)} | ${f(linearAllow)} | ${f(linearDeny)} | ${ratio} |`,
    );
  }
}
if (sink === 0.5) console.log(sink); // keeps the measured work observable
