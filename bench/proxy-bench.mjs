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
// --pieces adds an upstream that writes its 100 KiB in 8 KiB pieces after large headers, and routes to it; --fresh N
// measures the authenticated route again in N Vallum processes started one after the other, and reports the spread.
// Peers doing the same job (issue 14): Apache + mod_auth_openidc (a real OIDC sign-in at oidc-provider, scripted over
// HTTP) and Caddy as a plain reverse proxy; every target is printed as a ratio to Apache + mod_auth_openidc too, and
// the issue's targets as met or missed. Their Debian packages are installed when missing (as root), or the target is
// skipped with what to install. --quick: one round of 2 s after a 1 s warm-up, to see that everything runs.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort, signInOverHttp, startRedis } from '@vallum/testing';
import { APACHE_CALLBACK, APACHE_PACKAGES, writeApacheConfig } from './peers/apache-openidc.mjs';
import { CADDY_PACKAGES, writeCaddyConfig } from './peers/caddy.mjs';
import { installDebianPackages } from '../scripts/apt-lock.mjs';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(' ')
    .split('--')
    .filter(Boolean)
    .map((a) => a.trim().split(/\s+/)),
);
const QUICK = 'quick' in args;
const DURATION = Number(args.duration ?? (QUICK ? 2 : 5));
const ROUNDS = Number(args.rounds ?? (QUICK ? 1 : 3));
const WARM_UP = QUICK ? 1 : 2;
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

/** True when the files exist, after installing the Debian packages when they do not and this is root. */
function installed(label, files, packages) {
  if (files.every((f) => existsSync(f))) return true;
  if (process.getuid?.() === 0) {
    console.log(`${label}: installing its Debian packages (${packages.join(', ')})…`);
    installDebianPackages(packages);
    if (files.every((f) => existsSync(f))) return true;
  }
  console.log(`SKIPPED ${label}: not installed. Install it with \`apt-get install -y ${packages.join(' ')}\` (as root) and run again.`);
  return false;
}
const APACHE_LABEL = 'Apache + mod_auth_openidc';
const CADDY = '/usr/bin/caddy';
const hasApache = !('no-apache' in args) && installed(APACHE_LABEL, ['/usr/sbin/apache2', '/usr/lib/apache2/modules/mod_auth_openidc.so'], APACHE_PACKAGES);
const hasCaddy = !('no-caddy' in args) && installed('Caddy', [CADDY], CADDY_PACKAGES);

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
// /whoami answers with the email claim header Apache + mod_auth_openidc sends (OIDC_CLAIM_email), to check that the
// identity reaches the upstream.
const upstreamNginx = await nginx(
  'upstream',
  LOAD_CORE,
  `server { listen 127.0.0.1:${upstreamPort}; root ${dir}; underscores_in_headers on;
     location = /whoami { default_type text/plain; return 200 "$http_oidc_claim_email"; } }`,
);
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

// Apache + mod_auth_openidc, signed in at a real oidc-provider (the demo IdP, its own process on the load core) by a
// scripted login over HTTP; its session cookie is what wrk sends.
let apache;
if (hasApache) {
  const port = await getFreePort();
  const idpPort = await getFreePort();
  const client = { clientId: 'apache', clientSecret: randomBytes(24).toString('base64url') };
  const idp = await start('demo IdP', 'taskset', ['-c', LOAD_CORE, process.execPath, here('./peers/demo-idp.mjs'), String(idpPort)], 'ready ', {
    IDP_CLIENT_ID: client.clientId,
    IDP_CLIENT_SECRET: client.clientSecret,
    IDP_REDIRECT_URI: `http://127.0.0.1:${port}${APACHE_CALLBACK}`,
  });
  const issuer = idp.line.slice('ready '.length).trim();
  const [command, argv] = writeApacheConfig(dir, { port, upstream, issuer, ...client, passphrase: randomBytes(32).toString('base64url') });
  const child = spawn('taskset', ['-c', PROXY_CORE, command, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  for (let i = 0; ; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual' }).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (i === 100 || child.exitCode !== null)
      throw new Error(`${APACHE_LABEL} did not start: ${stderr}\n${readFileSync(join(dir, 'apache/error.log'), 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const signedIn = await signInOverHttp(`http://127.0.0.1:${port}/whoami`, 'alice@example.com');
  // The sign-in ends on /whoami through Apache: the upstream saw the signed-in user's email.
  if (signedIn.status !== 200 || signedIn.body !== 'alice@example.com') {
    throw new Error(`${APACHE_LABEL}: the upstream did not get the identity after sign-in (${signedIn.status} ${signedIn.body.slice(0, 200)})`);
  }
  const session = signedIn.cookie(`http://127.0.0.1:${port}/`, 'mod_auth_openidc_session');
  console.log(`${APACHE_LABEL}: signed in as ${signedIn.body} at ${issuer}; the upstream gets OIDC_CLAIM_email`);
  apache = { name: APACHE_LABEL, port, headers: [`Cookie: mod_auth_openidc_session=${session}`], pid: child.pid };
}

let caddy;
if (hasCaddy) {
  const port = await getFreePort();
  // Its own config and data dirs (autosave, certificates), not the system service's.
  const child = spawn('taskset', ['-c', PROXY_CORE, CADDY, 'run', '--config', writeCaddyConfig(dir, { port, upstream })], {
    stdio: 'ignore',
    env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'caddy-config'), XDG_DATA_HOME: join(dir, 'caddy-data') },
  });
  children.push(child);
  await waitForPort(port);
  caddy = { name: 'Caddy', port, headers: [], pid: child.pid };
}

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
// This build's Vallum starts with the node flags the `vallum` launcher and the image give it (cmd/vallum/bin/vallum).
const VALLUM_NODE_FLAGS = ['--max-semi-space-size=8'];
const vallum = await start(
  'Vallum',
  'taskset',
  ['-c', PROXY_CORE, process.execPath, ...VALLUM_NODE_FLAGS, ...profile, here('./peers/vallum-with-session.mjs'), vallumConfig],
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
    ['-c', PROXY_CORE, process.execPath, ...VALLUM_NODE_FLAGS, here('./peers/vallum-with-session.mjs'), writeVallumConfig(port, 'vallum-malloc.yaml')],
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
      [
        '-c',
        cores,
        process.execPath,
        ...VALLUM_NODE_FLAGS,
        here('./peers/vallum-with-session.mjs'),
        writeVallumConfig(port, `vallum-workers-${count}.yaml`),
        count,
      ],
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
      ...VALLUM_NODE_FLAGS,
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
  ...(caddy ? [caddy] : []),
  ...(apache ? [apache] : []),
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
    ['direct (nginx upstream)', 'nginx proxy', '@fastify/http-proxy', 'bare node:http + undici dispatch (the spike)', APACHE_LABEL].includes(t.name) ||
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
  const upstreamBefore = usage(upstreamNginx.pid).cpu;
  const idleBefore = idleSeconds();
  const startedAt = process.hrtime.bigint();
  // bash's `times` prints the CPU time of its children (wrk) last: wrk's share of the cores, next to the proxy's.
  const run = spawnSync('bash', ['-c', 'taskset "$@"; times', 'wrk', ...argv], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const after = target.pid ? usage(target.pid) : { cpu: NaN, faults: NaN };
  const cpu = after.cpu - before.cpu;
  const out = run.stdout;
  const [wrkUser = NaN, wrkSystem = NaN] = [...(out.trim().split('\n').at(-1) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
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
  return {
    rps,
    p50: ms('50'),
    p99: ms('99'),
    cpuUs: (cpu * 1e6) / requests,
    faults: (after.faults - before.faults) / requests,
    busy: cpu / wall,
    wrkBusy: (wrkUser + wrkSystem) / wall,
    upstreamBusy: (usage(upstreamNginx.pid).cpu - upstreamBefore) / wall,
    idle: (idleSeconds() - idleBefore) / wall,
  };
}

/** Idle time of all the machine's cores so far, in seconds (`/proc/stat`: idle + iowait). */
function idleSeconds() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  return (Number(fields[4]) + Number(fields[5])) / 100;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sizes = ['/1k', '/100k'];
console.log(`warming up (${targets.length} targets)…`);
for (const t of targets) for (const s of sizes) wrk(t, s, WARM_UP);
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

// --fresh N (issue 14): is Vallum's cost a property of the build or of the process? N more Vallums (authenticated
// route), each started fresh, warmed up and measured alone at both sizes, then stopped; the spread of their CPU per
// request is reported next to the main run's process.
const FRESH = Number(args.fresh ?? 0);
const fresh = [];
for (let i = 1; i <= FRESH; i++) {
  const port = await getFreePort();
  const p = await start(
    `Vallum (fresh process ${i})`,
    'taskset',
    ['-c', PROXY_CORE, process.execPath, ...VALLUM_NODE_FLAGS, here('./peers/vallum-with-session.mjs'), writeVallumConfig(port, `vallum-fresh-${i}.yaml`)],
    'ready ',
  );
  const t = {
    name: `Vallum authenticated (fresh process ${i})`,
    port,
    headers: [`Host: app.localhost:${port}`, `Cookie: ${p.line.slice('ready '.length).trim()}`],
    pid: p.child.pid,
  };
  console.log(`fresh process ${i}/${FRESH}`);
  for (const s of sizes) wrk(t, s, WARM_UP);
  fresh.push({ name: t.name, pid: p.child.pid, ...Object.fromEntries(sizes.map((s) => [s, wrk(t, s, DURATION)])) });
  p.child.kill('SIGTERM');
  await new Promise((r) => (p.child.exitCode === null ? p.child.once('exit', r) : r()));
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const pct = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)} %` : '-');
const lines = [
  `${ROUNDS} rounds × ${DURATION}s, ${CONNECTIONS} connections, proxy on core ${PROXY_CORE}, wrk + nginx upstream on core ${LOAD_CORE}; medians`,
  '',
  `| size | target | req/s | × direct | × @fastify/http-proxy | × ${APACHE_LABEL} | p50 ms | p99 ms | p99 × fastify | p99 × Apache | proxy CPU µs/req | × spike | page faults/req | proxy core busy |`,
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
const summary = {};
for (const s of sizes) {
  const agg = (name) => {
    const rs = results.get(`${name}|${s}`);
    if (rs === undefined) return {};
    const m = (k) => median(rs.map((r) => r[k]));
    return Object.fromEntries(['rps', 'p50', 'p99', 'cpuUs', 'faults', 'busy', 'wrkBusy', 'upstreamBusy', 'idle'].map((k) => [k, m(k)]));
  };
  const spike = agg('bare node:http + undici dispatch (the spike)');
  const direct = agg(targets[0].name);
  const fastify = agg('@fastify/http-proxy');
  const apacheRef = agg(APACHE_LABEL);
  for (const t of targets) {
    const a = agg(t.name);
    summary[`${t.name}|${s}`] = a;
    lines.push(
      `| ${s.slice(1).replace('k', ' KiB')} | ${t.name} | ${fmt(a.rps)} | ${fmt(a.rps / direct.rps, 2)} | ${fmt(a.rps / fastify.rps, 2)} | ${fmt(a.rps / apacheRef.rps, 2)} | ${fmt(a.p50, 2)} | ${fmt(a.p99, 2)} | ${fmt(a.p99 / fastify.p99, 2)} | ${fmt(a.p99 / apacheRef.p99, 2)} | ${fmt(a.cpuUs)} | ${fmt(a.cpuUs / spike.cpuUs, 2)} | ${fmt(a.faults, 1)} | ${pct(a.busy)} |`,
    );
  }
}
const get = (n, s) => summary[`${n}|${s}`] ?? {};
/** Median and range of a/b CPU per request, round by round. */
const pairedRatios = (a, b, s) => {
  const as = results.get(`${a}|${s}`);
  const bs = results.get(`${b}|${s}`);
  const ratios = as.map((r, i) => r.cpuUs / bs[i].cpuUs).sort((x, y) => x - y);
  return `median ${median(ratios).toFixed(3)}× (${ratios[0].toFixed(2)}–${ratios.at(-1).toFixed(2)} over ${ratios.length} rounds)`;
};
const KIB = { '/1k': '1 KiB', '/100k': '100 KiB' };
/** One target, judged on a ratio of medians: met, MISSED, or not measured (a target missing from this run). */
const target = (label, ratio, op, want, figures) =>
  !Number.isFinite(ratio)
    ? `- not measured: ${label} (target ${op} ${want}×)`
    : `- ${(op === '≥' ? ratio >= want : ratio <= want) ? 'met' : 'MISSED'}: ${label} ${ratio.toFixed(2)}× (target ${op} ${want}×; ${figures})`;
const rpsFigures = (a, b) => `${fmt(a.rps)} against ${fmt(b.rps)} req/s`;

lines.push('', 'Targets (issue 14), the authenticated route, medians of the rounds:');
// The malloc-tuned Vallum (--malloc) starts as the image and the Kubernetes manifests start it.
for (const suffix of ['', ' (malloc tuned)']) {
  const auth = `Vallum authenticated${suffix}`;
  if (!results.has(`${auth}|/1k`)) continue;
  const [v1, v100] = [get(auth, '/1k'), get(auth, '/100k')];
  const [ap1, ap100] = [get(APACHE_LABEL, '/1k'), get(APACHE_LABEL, '/100k')];
  lines.push(
    target(`1 KiB: ${auth} req/s ÷ ${APACHE_LABEL}`, v1.rps / ap1.rps, '≥', 1.4, rpsFigures(v1, ap1)),
    target(
      `1 KiB: ${auth} req/s ÷ @fastify/http-proxy`,
      v1.rps / get('@fastify/http-proxy', '/1k').rps,
      '≥',
      1.5,
      rpsFigures(v1, get('@fastify/http-proxy', '/1k')),
    ),
    target(`100 KiB: ${auth} req/s ÷ ${APACHE_LABEL}`, v100.rps / ap100.rps, '≥', 1.2, rpsFigures(v100, ap100)),
    target(
      `100 KiB: ${auth} CPU per request ÷ nginx proxy's`,
      v100.cpuUs / get('nginx proxy', '/100k').cpuUs,
      '≤',
      1.6,
      `${fmt(v100.cpuUs)} against ${fmt(get('nginx proxy', '/100k').cpuUs)} µs`,
    ),
  );
  for (const s of sizes) {
    const [v, ap, pub] = [get(auth, s), get(APACHE_LABEL, s), get(`Vallum public${suffix}`, s)];
    lines.push(
      target(`${KIB[s]}: ${auth} p99 ÷ ${APACHE_LABEL}'s`, v.p99 / ap.p99, '≤', 1, `${fmt(v.p99, 2)} against ${fmt(ap.p99, 2)} ms`),
      target(`${KIB[s]}: ${auth} req/s ÷ Vallum public${suffix}`, v.rps / pub.rps, '≥', 0.9, rpsFigures(v, pub)),
    );
  }
}
if (results.has('Vallum authenticated|/100k')) {
  lines.push('', 'Earlier targets (issue 4):');
  const [v, f] = [get('Vallum authenticated', '/100k'), get('@fastify/http-proxy', '/100k')];
  lines.push(target('issue 4, 100 KiB: Vallum authenticated req/s ÷ @fastify/http-proxy', v.rps / f.rps, '≥', 1.8, rpsFigures(v, f)));
  for (const s of sizes) {
    const [a, b] = [get('Vallum authenticated', s), get('@fastify/http-proxy', s)];
    lines.push(
      target(`issue 4, ${KIB[s]}: Vallum authenticated p99 ÷ @fastify/http-proxy's`, a.p99 / b.p99, '≤', 1, `${fmt(a.p99, 2)} against ${fmt(b.p99, 2)} ms`),
    );
  }
}

lines.push('');
for (const s of sizes) {
  for (const kind of ['public', 'authenticated']) {
    const on = get(`Vallum ${kind} (metrics on)`, s);
    const off = get(`Vallum ${kind}`, s);
    if (on.cpuUs === undefined || off.cpuUs === undefined) continue;
    lines.push(`- ${s}: Vallum ${kind} CPU per request with metrics on ${(on.cpuUs / off.cpuUs).toFixed(3)}× off (medians; target ≤ 1.03×)`);
    // On a loaded machine the load drifts between rounds: the ratio of the two measured back to back in each round
    // says more than the ratio of medians. A `--compare` of this same build is the noise floor (two identical
    // processes, both off).
    lines.push(`- ${s}: Vallum ${kind} CPU per request on ÷ off, paired per round: ${pairedRatios(`Vallum ${kind} (metrics on)`, `Vallum ${kind}`, s)}`);
    for (const t of compared.filter((c) => c.name.startsWith(`Vallum ${kind} (`))) {
      lines.push(`- ${s}: ${t.name} ÷ Vallum ${kind}, paired per round (noise floor when it is this build): ${pairedRatios(t.name, `Vallum ${kind}`, s)}`);
    }
  }
  for (const t of compared.filter((c) => c.name.startsWith('Vallum authenticated') && results.has(`${c.name}|${s}`))) {
    const cpu = get('Vallum authenticated', s).cpuUs / get(t.name, s).cpuUs;
    lines.push(`- ${s}: Vallum authenticated CPU per request ${cpu.toFixed(2)}× ${t.name}'s`);
  }
  for (const kind of ['public', 'authenticated', 'authenticated, upstream in pieces']) {
    if (!results.has(`Vallum ${kind} (malloc tuned)|${s}`) || !results.has(`Vallum ${kind}|${s}`)) continue;
    const [tuned, untuned] = [get(`Vallum ${kind} (malloc tuned)`, s), get(`Vallum ${kind}`, s)];
    lines.push(
      `- ${s}: Vallum ${kind} with MALLOC_* settings ÷ without: CPU per request ${(tuned.cpuUs / untuned.cpuUs).toFixed(2)}× (paired per round: ${pairedRatios(`Vallum ${kind} (malloc tuned)`, `Vallum ${kind}`, s)}), page faults per request ${fmt(tuned.faults, 1)} against ${fmt(untuned.faults, 1)}`,
    );
  }
}
if (fresh.length > 0) {
  // The main run's process (its median round) is one more sample of the same build.
  const rows = [
    { name: 'Vallum authenticated (the main rounds, median)', ...Object.fromEntries(sizes.map((s) => [s, get('Vallum authenticated', s)])) },
    ...fresh,
  ];
  lines.push(
    '',
    `Vallum authenticated in ${fresh.length} more fresh processes (each started, warmed up ${WARM_UP} s a size, measured ${DURATION} s a size, stopped):`,
    '',
    '| process | 1 KiB req/s | 1 KiB CPU µs/req | 100 KiB req/s | 100 KiB CPU µs/req | 100 KiB page faults/req |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) => `| ${r.name} | ${fmt(r['/1k'].rps)} | ${fmt(r['/1k'].cpuUs)} | ${fmt(r['/100k'].rps)} | ${fmt(r['/100k'].cpuUs)} | ${fmt(r['/100k'].faults, 1)} |`,
    ),
  );
  for (const s of sizes) {
    const cpus = rows.map((r) => r[s].cpuUs).filter(Number.isFinite);
    const [lo, hi] = [Math.min(...cpus), Math.max(...cpus)];
    lines.push(
      `- reported: ${KIB[s]}: Vallum authenticated CPU per request across ${cpus.length} processes ${fmt(lo)}–${fmt(hi)} µs, spread (max ÷ min) ${fmt(hi / lo, 2)}×`,
    );
  }
}
if (workerTargets.length === 2) {
  // The 2 cores are shared: by wrk and the upstream (core 1) and, with --workers 2, by the second worker. What the
  // workers can gain is bounded by what wrk and the upstream leave of the machine's cores.
  const cores = availableParallelism();
  lines.push(
    '',
    `\`vallum --workers ${args.workers}\` against \`--workers 1\`, next to wrk (busy: cores' worth of CPU, medians; ${cores} cores in all):`,
    '',
    '| size | target | req/s | × --workers 1 | Vallum CPU µs/req (all processes) | Vallum busy | wrk busy | upstream busy | left by wrk + upstream | idle (whole machine) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const s of sizes) {
    const one = get(workerTargets[0].name, s);
    for (const t of workerTargets) {
      const a = get(t.name, s);
      const cell = (x) => fmt(x, 2);
      lines.push(
        `| ${KIB[s]} | ${t.name} | ${fmt(a.rps)} | ${fmt(a.rps / one.rps, 2)} | ${fmt(a.cpuUs)} | ${cell(a.busy)} | ${cell(a.wrkBusy)} | ${cell(a.upstreamBusy)} | ${cell(cores - a.wrkBusy - a.upstreamBusy)} | ${cell(a.idle)} |`,
      );
    }
  }
  for (const s of sizes) {
    const [one, many] = workerTargets.map((t) => get(t.name, s));
    lines.push(
      `- reported: ${KIB[s]}: \`vallum --workers ${args.workers}\` ÷ \`--workers 1\`: req/s ${fmt(many.rps / one.rps, 2)}×, CPU per request (all processes) ${fmt(many.cpuUs / one.cpuUs, 2)}×; its processes used ${fmt(many.busy, 2)} cores of the ${fmt(cores - many.wrkBusy - many.upstreamBusy, 2)} wrk (${fmt(many.wrkBusy, 2)}) and the upstream (${fmt(many.upstreamBusy, 2)}) left`,
    );
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
