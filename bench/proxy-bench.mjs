#!/usr/bin/env node
// The reverse-proxy benchmark (issue 4): wrk on loopback, 50 connections, 1 KiB and 100 KiB files from an nginx
// upstream, every proxy pinned to one core, interleaved rounds, all in one run. Prints req/s and p50/p99 as ratios
// to the direct upstream and to @fastify/http-proxy. Options: --duration 5 --rounds 3 --connections 50;
// --profile DIR writes a V8 CPU profile of the Vallum process (run with --rounds 1 to keep it short); --only vallum
// runs only the targets whose names contain the word, besides the baselines; --compare DIR runs the Vallum of another
// checkout (built) beside this one, in the same interleaved rounds; --metrics also runs this Vallum with
// `metrics_address` set (metrics on) beside the one without (off), and prints CPU per request on ÷ off;
// --log-level info runs every Vallum with its access log on (default warn: nothing per request); --workers 2
// compares `vallum --workers 1` (the proxy core) with `vallum --workers 2` (both cores, shared with wrk and the
// upstream), CPU summed over all their processes; --malloc also runs this Vallum with glibc's MALLOC_* settings
// (MALLOC_SETTINGS below) beside the one without, and prints CPU and page faults per request tuned ÷ untuned;
// --pieces adds an upstream that writes its 100 KiB in 8 KiB pieces after large headers, and routes to it.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort, startRedis } from '@vallum/testing';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(' ')
    .split('--')
    .filter(Boolean)
    .map((a) => a.trim().split(/\s+/)),
);
const DURATION = Number(args.duration ?? 5);
const ROUNDS = Number(args.rounds ?? 3);
const CONNECTIONS = Number(args.connections ?? 50);
const LOG_LEVEL = String(args['log-level'] ?? 'warn');
const PROXY_CORE = '0';
const LOAD_CORE = '1';
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

for (const bin of ['nginx', 'wrk', 'taskset', 'redis-server']) {
  if (spawnSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin}`]).status !== 0) {
    console.error(`The benchmark needs ${bin}: apt-get install -y nginx wrk redis-server util-linux`);
    process.exit(1);
  }
}
const NGINX = spawnSync('sh', ['-c', 'command -v nginx || echo /usr/sbin/nginx']).stdout.toString().trim();

const dir = mkdtempSync(join(tmpdir(), 'vallum-bench-'));
// nginx workers run as an unprivileged user and must read the files.
chmodSync(dir, 0o755);
writeFileSync(join(dir, '1k'), Buffer.alloc(1024, 'a'));
writeFileSync(join(dir, '100k'), Buffer.alloc(100 * 1024, 'b'));
const children = [];
const cleanup = () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM'));
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function start(name, cmd, argv, readyText, env = {}) {
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 60_000);
    let ready = false;
    const onData = (d) => {
      // Once started, output (e.g. access lines) is read and dropped, as a log collector would.
      if (ready) return;
      out += d;
      const line = out.split('\n').find((l) => l.includes(readyText));
      if (line !== undefined) {
        ready = true;
        clearTimeout(timer);
        resolve({ child, line });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`${name} exited ${code}:\n${out}`)));
  });
}

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/1k`);
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing answers on ${port}`);
}

async function nginx(name, core, server) {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    `daemon off; worker_processes 1; pid ${dir}/${name}.pid; error_log ${dir}/${name}.err warn;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  client_body_temp_path ${dir}/${name}-body; proxy_temp_path ${dir}/${name}-proxy; fastcgi_temp_path ${dir}/${name}-f;
  uwsgi_temp_path ${dir}/${name}-u; scgi_temp_path ${dir}/${name}-s;
  ${server} }`,
  );
  const child = spawn('taskset', ['-c', core, NGINX, '-c', conf, '-p', dir], { stdio: 'ignore' });
  children.push(child);
  return child;
}

const upstreamPort = await getFreePort();
await nginx('upstream', LOAD_CORE, `server { listen 127.0.0.1:${upstreamPort}; root ${dir}; }`);
await waitForPort(upstreamPort);
const upstream = `http://127.0.0.1:${upstreamPort}`;
// --pieces: a second upstream that writes its response in 8 KiB pieces as it reads the file (no sendfile, no
// tcp_nopush, one 8 KiB output buffer) after ~8 KiB of headers, the shape of an application server's response.
const piecesPort = await getFreePort();
const padHeaders = Array.from({ length: 8 }, (_, i) => `add_header X-Pad-${i} "${'p'.repeat(1000)}";`).join(' ');
await nginx(
  'pieces',
  LOAD_CORE,
  `server { listen 127.0.0.1:${piecesPort}; root ${dir}; sendfile off; tcp_nopush off; postpone_output 0; output_buffers 1 8k; ${padHeaders} }`,
);
await waitForPort(piecesPort);

const nginxProxyPort = await getFreePort();
const nginxProxy = await nginx(
  'proxy',
  PROXY_CORE,
  `upstream up { server 127.0.0.1:${upstreamPort}; keepalive 64; }
   server { listen 127.0.0.1:${nginxProxyPort}; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
);
await waitForPort(nginxProxyPort);

const node = (script, ...rest) => ['-c', PROXY_CORE, process.execPath, here(script), ...rest];
const fastifyPort = await getFreePort();
const fastifyPeer = await start('@fastify/http-proxy', 'taskset', node('./peers/fastify-http-proxy.mjs', String(fastifyPort), upstream), 'ready');
const httpProxyPort = await getFreePort();
const httpProxyPeer = await start('http-proxy', 'taskset', node('./peers/node-http-proxy.mjs', String(httpProxyPort), upstream), 'ready');
const dispatchPort = await getFreePort();
const dispatchPeer = await start('undici dispatch', 'taskset', node('./peers/undici-dispatch.mjs', String(dispatchPort), upstream), 'ready');

const bytesPort = await getFreePort();
const bytesPeer = await start('undici dispatch + identity bytes', 'taskset', node('./peers/undici-dispatch.mjs', String(bytesPort), upstream), 'ready', {
  IDENTITY_BYTES: '1',
});

const redis = await startRedis();
const secret = (c) => c.repeat(32);
/** A Vallum config on its own port (the compared build, --compare, gets one too). */
const writeVallumConfig = (vallumPort, name, extra = '') => {
  const vallumConfig = join(dir, name);
  writeFileSync(
    vallumConfig,
    `address: 127.0.0.1:${vallumPort}
authenticate_service_url: http://authenticate.localhost:${vallumPort}
idp: { issuer: "http://127.0.0.1:9", client_id: bench, client_secret: bench, allow_insecure_http: true }
shared_secret: ${secret('s')}
cookie_secret: ${secret('c')}
cache: { redis_url: "${redis.url}" }
log_level: ${LOG_LEVEL}
${extra}routes:
  - from: http://public.localhost:${vallumPort}
    to: ${upstream}
    allow_public_unauthenticated_access: true
  - from: http://app.localhost:${vallumPort}
    to: ${upstream}
    policy: { allow: { or: [ { groups: { has: admins } } ] } }
  - from: http://pieces.localhost:${vallumPort}
    to: http://127.0.0.1:${piecesPort}
    policy: { allow: { or: [ { groups: { has: admins } } ] } }
`,
  );
  return vallumConfig;
};
const vallumPort = await getFreePort();
const vallumConfig = writeVallumConfig(vallumPort, 'vallum.yaml');
const profile = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
const vallum = await start(
  'Vallum',
  'taskset',
  ['-c', PROXY_CORE, process.execPath, ...profile, here('./peers/vallum-with-session.mjs'), vallumConfig],
  'ready ',
);
const cookie = vallum.line.slice('ready '.length).trim();
// --compare DIR also runs the Vallum built in another checkout (e.g. a copy of main), in the same interleaved rounds:
// on a busy machine, two builds measured in separate runs differ by more than any change between them.
const compared = [];
if (args.compare) {
  const otherDir = resolve(String(args.compare));
  const port = await getFreePort();
  const peer = join(otherDir, 'bench/peers/vallum-with-session.mjs');
  const other = await start(
    'Vallum (compared)',
    'taskset',
    ['-c', PROXY_CORE, process.execPath, peer, writeVallumConfig(port, 'vallum-compared.yaml')],
    'ready ',
  );
  const otherCookie = other.line.slice('ready '.length).trim();
  const label = basename(otherDir);
  compared.push(
    { name: `Vallum public (${label})`, port, headers: [`Host: public.localhost:${port}`], pid: other.child.pid },
    { name: `Vallum authenticated (${label})`, port, headers: [`Host: app.localhost:${port}`, `Cookie: ${otherCookie}`], pid: other.child.pid },
  );
}

// --malloc: this build again, started with glibc's allocator settings (issue 14), in the same interleaved rounds.
const MALLOC_SETTINGS = { MALLOC_TRIM_THRESHOLD_: '67108864', MALLOC_TOP_PAD_: '16777216', MALLOC_MMAP_THRESHOLD_: '4194304' };
const mallocTuned = [];
if ('malloc' in args) {
  const port = await getFreePort();
  const tuned = await start(
    'Vallum (malloc tuned)',
    'taskset',
    ['-c', PROXY_CORE, process.execPath, here('./peers/vallum-with-session.mjs'), writeVallumConfig(port, 'vallum-malloc.yaml')],
    'ready ',
    MALLOC_SETTINGS,
  );
  const tunedCookie = tuned.line.slice('ready '.length).trim();
  mallocTuned.push(
    { name: 'Vallum public (malloc tuned)', port, headers: [`Host: public.localhost:${port}`], pid: tuned.child.pid },
    { name: 'Vallum authenticated (malloc tuned)', port, headers: [`Host: app.localhost:${port}`, `Cookie: ${tunedCookie}`], pid: tuned.child.pid },
  );
  if ('pieces' in args) {
    mallocTuned.push({
      name: 'Vallum authenticated, upstream in pieces (malloc tuned)',
      port,
      headers: [`Host: pieces.localhost:${port}`, `Cookie: ${tunedCookie}`],
      pid: tuned.child.pid,
    });
  }
}

// --workers N: the `vallum` command itself, one process on the proxy core against N workers on every core.
const workerTargets = [];
if (args.workers) {
  for (const [count, cores] of [
    ['1', PROXY_CORE],
    [String(args.workers), `${PROXY_CORE},${LOAD_CORE}`],
  ]) {
    const port = await getFreePort();
    const peer = await start(
      `vallum --workers ${count}`,
      'taskset',
      ['-c', cores, process.execPath, here('./peers/vallum-with-session.mjs'), writeVallumConfig(port, `vallum-workers-${count}.yaml`), count],
      'ready ',
    );
    const workerCookie = peer.line.slice('ready '.length).trim();
    workerTargets.push({
      name: `vallum --workers ${count} authenticated (cores ${cores})`,
      port,
      headers: [`Host: app.localhost:${port}`, `Cookie: ${workerCookie}`],
      pid: peer.child.pid,
    });
  }
}

// --metrics: the same build with metrics on (a registry and a /metrics listener), in the same interleaved rounds.
const withMetrics = [];
let metricsUrl;
if ('metrics' in args) {
  const port = await getFreePort();
  const metricsPort = await getFreePort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const on = await start(
    'Vallum (metrics on)',
    'taskset',
    [
      '-c',
      PROXY_CORE,
      process.execPath,
      ...profile,
      here('./peers/vallum-with-session.mjs'),
      writeVallumConfig(port, 'vallum-metrics.yaml', `metrics_address: 127.0.0.1:${metricsPort}\n`),
    ],
    'ready ',
  );
  const onCookie = on.line.slice('ready '.length).trim();
  withMetrics.push(
    { name: 'Vallum public (metrics on)', port, headers: [`Host: public.localhost:${port}`], pid: on.child.pid },
    { name: 'Vallum authenticated (metrics on)', port, headers: [`Host: app.localhost:${port}`, `Cookie: ${onCookie}`], pid: on.child.pid },
  );
}

const targets = [
  { name: 'direct (nginx upstream)', port: upstreamPort, headers: [] },
  { name: 'nginx proxy', port: nginxProxyPort, headers: [], pid: nginxProxy.pid },
  { name: '@fastify/http-proxy', port: fastifyPort, headers: [], pid: fastifyPeer.child.pid },
  { name: 'http-proxy', port: httpProxyPort, headers: [], pid: httpProxyPeer.child.pid },
  { name: 'bare node:http + undici dispatch (the spike)', port: dispatchPort, headers: [], pid: dispatchPeer.child.pid },
  {
    name: "the spike + an authenticated request's bytes",
    port: bytesPort,
    headers: [`Cookie: ${cookie}`],
    pid: bytesPeer.child.pid,
  },
  { name: 'Vallum public', port: vallumPort, headers: [`Host: public.localhost:${vallumPort}`], pid: vallum.child.pid },
  { name: 'Vallum authenticated', port: vallumPort, headers: [`Host: app.localhost:${vallumPort}`, `Cookie: ${cookie}`], pid: vallum.child.pid },
  ...('pieces' in args
    ? [
        { name: 'direct, upstream in pieces', port: piecesPort, headers: [] },
        {
          name: 'Vallum authenticated, upstream in pieces',
          port: vallumPort,
          headers: [`Host: pieces.localhost:${vallumPort}`, `Cookie: ${cookie}`],
          pid: vallum.child.pid,
        },
      ]
    : []),
  // Metrics on right after off, so the compared build (a noise floor when it is this build) comes last in a round.
  ...withMetrics,
  ...mallocTuned,
  ...compared,
  ...workerTargets,
];

// --only a,b keeps the targets whose names contain one of the words (the baselines always run): for quick comparisons.
if (args.only) {
  const words = String(args.only)
    .split(',')
    .map((w) => w.trim().toLowerCase());
  const keep = (t) =>
    ['direct (nginx upstream)', '@fastify/http-proxy', 'bare node:http + undici dispatch (the spike)'].includes(t.name) ||
    words.some((w) => t.name.toLowerCase().includes(w)) ||
    workerTargets.includes(t);
  targets.splice(0, targets.length, ...targets.filter(keep));
}

// Each target must really serve the file (a 302 to sign-in would be very fast and very wrong).
for (const t of targets) {
  const headers = Object.fromEntries(t.headers.map((h) => [h.slice(0, h.indexOf(':')).toLowerCase(), h.slice(h.indexOf(':') + 1).trim()]));
  const { request } = await import('undici');
  const res = await request(`http://127.0.0.1:${t.port}/100k`, { headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode !== 200 || body.length !== 100 * 1024) throw new Error(`${t.name} answered ${res.statusCode} with ${body.length} bytes`);
}

/**
 * CPU seconds (user + system) used so far by a process and its descendants (nginx's master and worker), and the page
 * faults they took (minor + major).
 */
function usage(pid) {
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  let faults = 0;
  const visit = (p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / ticks;
      faults += Number(fields[7]) + Number(fields[9]);
      for (const child of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) visit(child);
    } catch {
      // the process is gone
    }
  };
  visit(pid);
  return { cpu: total, faults };
}

function wrk(target, path, seconds) {
  const argv = ['-c', LOAD_CORE, 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency'];
  for (const h of target.headers) argv.push('-H', h);
  argv.push(`http://127.0.0.1:${target.port}${path}`);
  const before = target.pid ? usage(target.pid) : { cpu: NaN, faults: NaN };
  const startedAt = process.hrtime.bigint();
  const run = spawnSync('taskset', argv, { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const after = target.pid ? usage(target.pid) : { cpu: NaN, faults: NaN };
  const cpu = after.cpu - before.cpu;
  const out = run.stdout;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const ms = (label) => {
    const m = new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) return NaN;
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]];
  };
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errors) console.error(`  ${target.name} ${path}: ${errors[0]}`);
  // The proxy's own CPU time per request is steadier than req/s on a noisy machine; busy is its share of one core.
  return { rps, p50: ms('50'), p99: ms('99'), cpuUs: (cpu * 1e6) / requests, faults: (after.faults - before.faults) / requests, busy: cpu / wall };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sizes = ['/1k', '/100k'];
console.log(`warming up (${targets.length} targets)…`);
for (const t of targets) for (const s of sizes) wrk(t, s, 2);
const results = new Map();
for (let round = 1; round <= ROUNDS; round++) {
  console.log(`round ${round}/${ROUNDS}`);
  for (const s of sizes) {
    for (const t of targets) {
      const r = wrk(t, s, DURATION);
      const key = `${t.name}|${s}`;
      results.set(key, [...(results.get(key) ?? []), r]);
    }
  }
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const lines = [
  `${ROUNDS} rounds × ${DURATION}s, ${CONNECTIONS} connections, proxy on core ${PROXY_CORE}, wrk + nginx upstream on core ${LOAD_CORE}; medians`,
  '',
  '| size | target | req/s | × direct | × @fastify/http-proxy | p50 ms | p99 ms | p99 × fastify | proxy CPU µs/req | × spike | page faults/req | proxy core busy |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
const summary = {};
for (const s of sizes) {
  const agg = (name) => {
    const rs = results.get(`${name}|${s}`);
    const m = (k) => median(rs.map((r) => r[k]));
    return { rps: m('rps'), p50: m('p50'), p99: m('p99'), cpuUs: m('cpuUs'), faults: m('faults'), busy: m('busy') };
  };
  const spike = agg('bare node:http + undici dispatch (the spike)');
  const direct = agg(targets[0].name);
  const fastify = agg('@fastify/http-proxy');
  for (const t of targets) {
    const a = agg(t.name);
    summary[`${t.name}|${s}`] = a;
    lines.push(
      `| ${s.slice(1).replace('k', ' KiB')} | ${t.name} | ${fmt(a.rps)} | ${fmt(a.rps / direct.rps, 2)} | ${fmt(a.rps / fastify.rps, 2)} | ${fmt(a.p50, 2)} | ${fmt(a.p99, 2)} | ${fmt(a.p99 / fastify.p99, 2)} | ${fmt(a.cpuUs)} | ${fmt(a.cpuUs / spike.cpuUs, 2)} | ${fmt(a.faults, 1)} | ${Number.isFinite(a.busy) ? `${Math.round(a.busy * 100)} %` : '-'} |`,
    );
  }
}
const get = (n, s) => summary[`${n}|${s}`];
/** Median and range of a/b CPU per request, round by round. */
const pairedRatios = (a, b, s) => {
  const as = results.get(`${a}|${s}`);
  const bs = results.get(`${b}|${s}`);
  const ratios = as.map((r, i) => r.cpuUs / bs[i].cpuUs).sort((x, y) => x - y);
  return `median ${median(ratios).toFixed(3)}× (${ratios[0].toFixed(2)}–${ratios.at(-1).toFixed(2)} over ${ratios.length} rounds)`;
};
lines.push('', 'Targets:');
for (const [s, want] of [
  ['/1k', 1.5],
  ['/100k', 1.8],
]) {
  if (!get('Vallum authenticated', s)) continue;
  const ratio = get('Vallum authenticated', s).rps / get('@fastify/http-proxy', s).rps;
  lines.push(`- ${s}: Vallum authenticated ${ratio.toFixed(2)}× @fastify/http-proxy (target ≥ ${want}×) ${ratio >= want ? 'met' : 'MISSED'}`);
  if (get('Vallum public', s)) {
    const vs = get('Vallum authenticated', s).rps / get('Vallum public', s).rps;
    lines.push(`- ${s}: Vallum authenticated ${vs.toFixed(2)}× Vallum public (target ≥ 0.9×) ${vs >= 0.9 ? 'met' : 'MISSED'}`);
  }
  for (const kind of ['public', 'authenticated']) {
    const on = get(`Vallum ${kind} (metrics on)`, s);
    const off = get(`Vallum ${kind}`, s);
    if (!on || !off) continue;
    lines.push(`- ${s}: Vallum ${kind} CPU per request with metrics on ${(on.cpuUs / off.cpuUs).toFixed(3)}× off (medians; target ≤ 1.03×)`);
    // On a loaded machine the load drifts between rounds: the ratio of the two measured back to back in each round
    // says more than the ratio of medians. A `--compare` of this same build is the noise floor (two identical
    // processes, both off).
    lines.push(`- ${s}: Vallum ${kind} CPU per request on ÷ off, paired per round: ${pairedRatios(`Vallum ${kind} (metrics on)`, `Vallum ${kind}`, s)}`);
    for (const t of compared.filter((c) => c.name.startsWith(`Vallum ${kind} (`))) {
      lines.push(`- ${s}: ${t.name} ÷ Vallum ${kind}, paired per round (noise floor when it is this build): ${pairedRatios(t.name, `Vallum ${kind}`, s)}`);
    }
  }
  for (const t of compared.filter((c) => c.name.startsWith('Vallum authenticated') && get(c.name, s))) {
    const cpu = get('Vallum authenticated', s).cpuUs / get(t.name, s).cpuUs;
    lines.push(`- ${s}: Vallum authenticated CPU per request ${cpu.toFixed(2)}× ${t.name}'s`);
  }
  for (const kind of ['public', 'authenticated', 'authenticated, upstream in pieces']) {
    const tuned = get(`Vallum ${kind} (malloc tuned)`, s);
    const untuned = get(`Vallum ${kind}`, s);
    if (!tuned || !untuned) continue;
    lines.push(
      `- ${s}: Vallum ${kind} with MALLOC_* settings ÷ without: CPU per request ${(tuned.cpuUs / untuned.cpuUs).toFixed(2)}× (paired per round: ${pairedRatios(`Vallum ${kind} (malloc tuned)`, `Vallum ${kind}`, s)}), page faults per request ${fmt(tuned.faults, 1)} against ${fmt(untuned.faults, 1)}`,
    );
  }
  const p99 = get('Vallum authenticated', s).p99 / get('@fastify/http-proxy', s).p99;
  lines.push(`- ${s}: Vallum authenticated p99 ${p99.toFixed(2)}× @fastify/http-proxy's (target ≤ 1×) ${p99 <= 1 ? 'met' : 'MISSED'}`);
}
if (workerTargets.length === 2) {
  lines.push('', `\`vallum --workers ${args.workers}\` against \`--workers 1\`:`);
  for (const s of sizes) {
    const [one, many] = workerTargets.map((t) => get(t.name, s));
    lines.push(`- ${s}: req/s ${(many.rps / one.rps).toFixed(2)}×, CPU per request (all processes) ${(many.cpuUs / one.cpuUs).toFixed(2)}×`);
  }
}
if (metricsUrl) {
  // The metrics-on Vallum must really have counted: one scrape, summed over its request histograms.
  const text = await (await fetch(metricsUrl)).text();
  const counted = text
    .split('\n')
    .filter((l) => l.startsWith('vallum_http_request_duration_seconds_count{'))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  lines.push(`- metrics on: ${counted} requests counted in vallum_http_request_duration_seconds (one scrape of ${text.length} bytes at the end)`);
}
console.log(lines.join('\n'));
cleanup();
await new Promise((r) => setTimeout(r, 1000));
await redis.stop();
process.exit(0);
