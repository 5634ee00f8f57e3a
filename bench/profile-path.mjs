#!/usr/bin/env node
// Where the time of one response size goes (issue 14, point 1): the spike (bare node:http + undici), Vallum's public
// route and Vallum's authenticated route, each driven by wrk on loopback (proxy on core 0, wrk + an nginx upstream on
// core 1, as proxy-bench.mjs runs them) while `perf record` samples the proxy process (node --perf-basic-prof, so
// JavaScript frames have names), then again under `strace -c` for the syscalls. Prints, per target, CPU and page
// faults per request, the share of samples by category and the top functions, and syscalls per request. Shares are
// relative to the process's own samples, so they hold on a loaded machine better than req/s does.
// Usage: node bench/profile-path.mjs [--size 100k|1k] [--seconds 6] [--connections 50] [--top 25] [--env K=V,K=V]
// Needs perf (Debian linux-perf), strace, nginx, wrk, redis-server.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
const SIZE = String(args.size ?? '100k');
const SECONDS = Number(args.seconds ?? 6);
const CONNECTIONS = Number(args.connections ?? 50);
const TOP = Number(args.top ?? 25);
// Long enough for V8 to optimise the hot path even when the process gets a tenth of its core.
const WARM_UP = Number(args['warm-up'] ?? 10);
const EXTRA_ENV = Object.fromEntries(
  String(args.env ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=')),
);
const PROXY_CORE = '0';
const LOAD_CORE = '1';
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
for (const bin of ['perf', 'strace', 'wrk', 'taskset']) {
  if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) throw new Error(`needs ${bin}: apt-get install -y linux-perf strace wrk util-linux`);
}
const NGINX = spawnSync('sh', ['-c', 'command -v nginx || echo /usr/sbin/nginx']).stdout.toString().trim();

const dir = mkdtempSync(join(tmpdir(), 'vallum-profile-'));
chmodSync(dir, 0o755);
writeFileSync(join(dir, '1k'), Buffer.alloc(1024, 'a'));
writeFileSync(join(dir, '100k'), Buffer.alloc(100 * 1024, 'b'));
const children = [];
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM')));
process.on('SIGINT', () => process.exit(130));

function start(cmd, argv, env = {}) {
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.gc = { scavenge: 0, major: 0 };
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      const text = String(d);
      child.gc.scavenge += text.split('Scavenge').length - 1;
      child.gc.major += text.split('Mark-Compact').length - 1;
      if (out.length > 65536) return;
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('ready'));
      if (line !== undefined) resolve({ child, line });
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code}:\n${out}`)));
  });
}

const upstreamPort = await getFreePort();
writeFileSync(
  join(dir, 'upstream.conf'),
  `daemon off; worker_processes 1; pid ${dir}/upstream.pid; error_log ${dir}/upstream.err warn;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  server { listen 127.0.0.1:${upstreamPort}; root ${dir}; } }`,
);
children.push(spawn('taskset', ['-c', LOAD_CORE, NGINX, '-c', join(dir, 'upstream.conf'), '-p', dir], { stdio: 'ignore' }));
const upstream = `http://127.0.0.1:${upstreamPort}`;
const redis = await startRedis();

const vallumPort = await getFreePort();
const config = join(dir, 'vallum.yaml');
writeFileSync(
  config,
  `address: 127.0.0.1:${vallumPort}
authenticate_service_url: http://authenticate.localhost:${vallumPort}
idp: { issuer: "http://127.0.0.1:9", client_id: bench, client_secret: bench, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
cache: { redis_url: "${redis.url}" }
log_level: warn
routes:
  - from: http://public.localhost:${vallumPort}
    to: ${upstream}
    allow_public_unauthenticated_access: true
  - from: http://app.localhost:${vallumPort}
    to: ${upstream}
    policy: { allow: { or: [ { groups: { has: admins } } ] } }
`,
);
// --trace-gc lines are counted per run: collections per 1,000 requests, by kind.
const node = ['--perf-basic-prof', '--trace-gc'];
// Vallum as the `vallum` launcher starts it (cmd/vallum/bin/vallum).
const vallum = await start(
  'taskset',
  ['-c', PROXY_CORE, process.execPath, ...node, '--max-semi-space-size=8', here('./peers/vallum-with-session.mjs'), config],
  EXTRA_ENV,
);
const cookie = vallum.line.slice('ready '.length).trim();
const spikePort = await getFreePort();
const spike = await start(
  'taskset',
  ['-c', PROXY_CORE, process.execPath, ...node, here('./peers/undici-dispatch.mjs'), String(spikePort), upstream],
  EXTRA_ENV,
);

const targets = [
  { name: 'spike', port: spikePort, headers: [], pid: spike.child.pid, child: spike.child },
  { name: 'Vallum public', port: vallumPort, headers: [`Host: public.localhost:${vallumPort}`], pid: vallum.child.pid, child: vallum.child },
  {
    name: 'Vallum authenticated',
    port: vallumPort,
    headers: [`Host: app.localhost:${vallumPort}`, `Cookie: ${cookie}`],
    pid: vallum.child.pid,
    child: vallum.child,
  },
];

/** CPU seconds and page faults (minor + major) of a process so far. */
function usage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { cpu: (Number(f[11]) + Number(f[12])) / 100, faults: Number(f[7]) + Number(f[9]) };
}

async function wrk(t, seconds) {
  const argv = ['-c', LOAD_CORE, 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`];
  for (const h of t.headers) argv.push('-H', h);
  argv.push(`http://127.0.0.1:${t.port}/${SIZE}`);
  const before = usage(t.pid);
  const gc = { ...t.child.gc };
  // Asynchronous, so the proxy's --trace-gc lines are read while wrk runs.
  const child = spawn('taskset', argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((r) => child.on('exit', r));
  const after = usage(t.pid);
  await new Promise((r) => setTimeout(r, 200));
  if (/Non-2xx/.test(out)) throw new Error(`${t.name}: ${out}`);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  return {
    requests,
    cpuUs: ((after.cpu - before.cpu) * 1e6) / requests,
    faults: (after.faults - before.faults) / requests,
    scavenges: ((t.child.gc.scavenge - gc.scavenge) * 1000) / requests,
    majors: ((t.child.gc.major - gc.major) * 1000) / requests,
  };
}

/** Runs wrk while a tool watches the process; the tool is stopped with SIGINT (perf and strace write then). */
async function watched(t, tool) {
  const child = spawn(tool[0], tool.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise((r) => setTimeout(r, 500));
  const r = await wrk(t, SECONDS);
  child.kill('SIGINT');
  await new Promise((r) => child.on('exit', r));
  return { ...r, err };
}

/** The category of one sampled symbol (perf report's dso and symbol). */
function category(dso, sym) {
  if (dso.includes('kernel')) {
    if (/page|fault|mm_|pte|lru|folio|zap_|unmap|madvise|mmap|rmqueue|memcg|clear_|free_pcp|buddy/.test(sym)) return 'kernel: memory (faults, mmap/madvise)';
    return 'kernel: syscalls, TCP, scheduling';
  }
  if (/libc/.test(dso)) {
    if (/mem(move|cpy|set)|memcmp/.test(sym)) return 'libc: memcpy/memset';
    return 'libc: malloc/free and other';
  }
  if (/wasm/i.test(sym)) return 'llhttp (WebAssembly)';
  if (dso.startsWith('[JIT]') || dso.startsWith('perf-')) {
    if (/undici/.test(sym)) return 'JS: undici';
    if (/node:|internal\//.test(sym)) return 'JS: node core (http, net, streams, events)';
    if (/\/(services|packages|cmd)\//.test(sym)) return "JS: Vallum's own code";
    if (/\/node_modules\//.test(sym)) return 'JS: other packages';
    return 'JS: builtins and stubs';
  }
  if (
    /Scaveng|Heap::|MarkCompact|Sweeper|Marking|Evacuat|GCTracer|Concurrent|MinorMC|Minor|PagedSpace|NewSpace|MemoryChunk|LocalHeap|ArrayBufferSweeper|MemoryAllocator|Worklist|Unmapper|Page::/.test(
      sym,
    )
  )
    return 'V8: garbage collection';
  if (/^v8::internal::(compiler|maglev|baseline)::|^v8::internal::.*Compil/.test(sym)) return 'V8: optimising compiler';
  if (/^Builtins_/.test(sym)) return 'V8 builtins';
  if (/^node::|^uv_|^uv__|llhttp/.test(sym)) return 'node/libuv C++';
  if (/^v8::/.test(sym)) return 'V8 runtime (API, handles)';
  return `other (${dso})`;
}

function report(data) {
  const out = spawnSync('perf', ['report', '-i', data, '--no-children', '--sort', 'dso,sym', '--stdio', '-g', 'none', '--percent-limit', '0'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  }).stdout;
  const rows = [];
  for (const line of out.split('\n')) {
    const m = /^\s+([\d.]+)%\s+(.+?)\s+\[(.)\]\s+(.*)$/.exec(line);
    if (m) rows.push({ share: Number(m[1]), dso: m[2], sym: m[4].trim() });
  }
  const cats = new Map();
  for (const r of rows) {
    const c = category(r.dso, r.sym);
    cats.set(c, (cats.get(c) ?? 0) + r.share);
  }
  return { rows, cats };
}

function syscalls(text, requests) {
  const counts = {};
  for (const line of text.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
    if (m && m[2] !== 'total') counts[m[2]] = Number(m[1]) / requests;
  }
  return counts;
}

const results = [];
for (const t of targets) {
  await wrk(t, WARM_UP);
  const data = join(dir, `${t.name.replace(/\W+/g, '-')}.perf`);
  const p = await watched(t, ['perf', 'record', '-F', '997', '-g', '-p', String(t.pid), '-o', data]);
  const plain = await wrk(t, SECONDS);
  const straceOut = join(dir, `${t.name.replace(/\W+/g, '-')}.strace`);
  const s = await watched(t, ['strace', '-c', '-f', '-o', straceOut, '-p', String(t.pid)]);
  results.push({ t, perf: p, plain, sys: syscalls(readFileSync(straceOut, 'utf8'), s.requests), ...report(data) });
  console.log(`${t.name}: done`);
}

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
console.log(`\n/${SIZE}, ${CONNECTIONS} connections, ${SECONDS} s per run; proxy on core ${PROXY_CORE}, wrk + nginx upstream on core ${LOAD_CORE}`);
console.log(
  '\n| target | req/s (plain run) | CPU µs/req | page faults/req | scavenges per 1,000 req | mark-compacts per 1,000 req | CPU µs/req under perf |\n|---|---:|---:|---:|---:|---:|---:|',
);
for (const r of results)
  console.log(
    `| ${r.t.name} | ${f(r.plain.requests / SECONDS, 0)} | ${f(r.plain.cpuUs, 0)} | ${f(r.plain.faults)} | ${f(r.plain.scavenges)} | ${f(r.plain.majors, 2)} | ${f(r.perf.cpuUs, 0)} |`,
  );
const allCats = [...new Set(results.flatMap((r) => [...r.cats.keys()]))].sort((a, b) => (results.at(-1).cats.get(b) ?? 0) - (results.at(-1).cats.get(a) ?? 0));
console.log(
  `\nShare of samples by category (self time):\n\n| category | ${results.map((r) => r.t.name).join(' | ')} |\n|---|${results.map(() => '---:').join('|')}|`,
);
for (const c of allCats) console.log(`| ${c} | ${results.map((r) => `${f(r.cats.get(c) ?? 0)} %`).join(' | ')} |`);
const names = [...new Set(results.flatMap((r) => Object.keys(r.sys)))].sort((a, b) => (results.at(-1).sys[b] ?? 0) - (results.at(-1).sys[a] ?? 0));
console.log(
  `\nSyscalls per request (strace -c -f):\n\n| syscall | ${results.map((r) => r.t.name).join(' | ')} |\n|---|${results.map(() => '---:').join('|')}|`,
);
for (const n of names.slice(0, 14)) console.log(`| ${n} | ${results.map((r) => f(r.sys[n] ?? 0, 2)).join(' | ')} |`);
console.log(
  `| total | ${results
    .map((r) =>
      f(
        Object.values(r.sys).reduce((a, b) => a + b, 0),
        2,
      ),
    )
    .join(' | ')} |`,
);
for (const r of results) {
  console.log(`\nTop ${TOP} functions, ${r.t.name} (self time):`);
  for (const row of r.rows.slice(0, TOP)) console.log(`  ${f(row.share, 2).padStart(6)} %  ${category(row.dso, row.sym).padEnd(42)} ${row.sym.slice(0, 110)}`);
}
console.log(`\nperf data and strace summaries: ${dir}`);
await redis.stop();
process.exit(0);
