#!/usr/bin/env node
// What one proxied request allocates in Vallum's process: a fresh Vallum all-in-one (peers/vallum-with-session.mjs,
// started as profile-path.mjs starts it) on core 0, an nginx upstream and wrk on core 1, and V8's own account of
// every collection (--trace-gc-nvp): bytes allocated and promoted per request, young collections (scavenges) and
// full ones (mark-compacts) per 1,000 requests, CPU per request. Counts hold on a loaded machine where req/s does not;
// warm-up is counted in requests, so the optimising compiler has seen as many whatever the load.
// With --compare DIR (another built checkout, e.g. main), the two alternate in fresh processes, pair by pair.
// With --heap-profile, V8's sampling heap profiler runs during the measured run (peers/heap-sampling.cjs), and the
// bytes per request are printed by the nearest function of Vallum's own on the stack.
// Usage: node bench/request-allocations.mjs [--compare DIR] [--pairs 3] [--size 1k|100k] [--routes authenticated,public]
//        [--seconds 10] [--warm-requests 40000] [--heap-profile] [--top 30]
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort, startRedis } from '@vallum/testing';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(' ')
    .split('--')
    .filter(Boolean)
    .map((a) => {
      const [k, ...v] = a.trim().split(/\s+/);
      return [k, v.join(' ') || true];
    }),
);
const here = fileURLToPath(new URL('..', import.meta.url));
const trees = [resolve(here), ...(args.compare ? [resolve(String(args.compare))] : [])];
const PAIRS = Number(args.pairs ?? 3);
const SIZE = String(args.size ?? '1k');
const ROUTES = String(args.routes ?? 'authenticated,public').split(',');
const SECONDS = Number(args.seconds ?? 10);
const WARM_REQUESTS = Number(args['warm-requests'] ?? 40000);
const HEAP = args['heap-profile'] === true;
const TOP = Number(args.top ?? 30);
for (const bin of ['wrk', 'taskset']) {
  if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) throw new Error(`needs ${bin}: apt-get install -y wrk util-linux nginx`);
}
const NGINX = spawnSync('sh', ['-c', 'command -v nginx || echo /usr/sbin/nginx']).stdout.toString().trim();

const dir = mkdtempSync(join(tmpdir(), 'vallum-allocations-'));
chmodSync(dir, 0o755);
writeFileSync(join(dir, '1k'), Buffer.alloc(1024, 'a'));
writeFileSync(join(dir, '100k'), Buffer.alloc(100 * 1024, 'b'));
const children = [];
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM')));
process.on('SIGINT', () => process.exit(130));

const upstreamPort = await getFreePort();
writeFileSync(
  join(dir, 'upstream.conf'),
  `daemon off; worker_processes 1; pid ${dir}/upstream.pid; error_log ${dir}/upstream.err warn;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  server { listen 127.0.0.1:${upstreamPort}; root ${dir}; } }`,
);
children.push(spawn('taskset', ['-c', '1', NGINX, '-c', join(dir, 'upstream.conf'), '-p', dir], { stdio: 'ignore' }));
const redis = await startRedis();

/** CPU seconds of a process so far. */
function cpuOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function startVallum(tree, n) {
  const port = await getFreePort();
  const config = join(dir, `vallum-${n}.yaml`);
  writeFileSync(
    config,
    `address: 127.0.0.1:${port}
authenticate_service_url: http://authenticate.localhost:${port}
idp: { issuer: "http://127.0.0.1:9", client_id: bench, client_secret: bench, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
cache: { redis_url: "${redis.url}" }
log_level: warn
routes:
  - from: http://public.localhost:${port}
    to: http://127.0.0.1:${upstreamPort}
    allow_public_unauthenticated_access: true
  - from: http://app.localhost:${port}
    to: http://127.0.0.1:${upstreamPort}
    policy: { allow: { or: [ { groups: { has: admins } } ] } }
`,
  );
  const node = ['--trace-gc-nvp', '--max-semi-space-size=8', ...(HEAP ? ['-r', join(here, 'bench/peers/heap-sampling.cjs')] : [])];
  const profile = join(dir, `heap-${n}.heapprofile`);
  const child = spawn('taskset', ['-c', '0', process.execPath, ...node, join(tree, 'bench/peers/vallum-with-session.mjs'), config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HEAP_PROFILE_OUT: profile },
  });
  children.push(child);
  const gc = { scavenges: 0, majors: 0, allocated: 0, promoted: 0 };
  let out = '';
  let partial = '';
  const ready = new Promise((resolveReady, reject) => {
    child.stdout.on('data', (d) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        const kind = / gc=(\w+) /.exec(line)?.[1];
        if (kind !== undefined) {
          if (kind === 's') gc.scavenges++;
          else if (kind === 'ms' || kind === 'mc') gc.majors++;
          gc.allocated += Number(/ allocated=(\d+)/.exec(line)?.[1] ?? 0);
          gc.promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0);
        } else if (line.startsWith('ready')) resolveReady(line.slice('ready '.length).trim());
        else if (line === 'heap-profile-written') child.emit('heap-profile');
        else if (out.length < 8192) out += `${line}\n`;
      }
    });
    child.stderr.on('data', (d) => {
      if (out.length < 8192) out += d;
    });
    child.on('exit', (code) => reject(new Error(`Vallum exited ${code}:\n${out}`)));
  });
  return { child, port, cookie: await ready, gc, profile };
}

function wrk(v, route, seconds) {
  const argv = ['-c', '1', 'wrk', '-t1', '-c50', `-d${seconds}s`, '-H', `Host: ${route === 'public' ? 'public' : 'app'}.localhost:${v.port}`];
  if (route !== 'public') argv.push('-H', `Cookie: ${v.cookie}`);
  argv.push(`http://127.0.0.1:${v.port}/${SIZE}`);
  return new Promise((done, fail) => {
    const child = spawn('taskset', argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', () => (/Non-2xx/.test(out) ? fail(new Error(out)) : done(Number(/(\d+) requests in/.exec(out)?.[1]))));
  });
}

/** Bytes per request of a heap profile, by the nearest frame of Vallum's own code on the allocating stack. */
function byVallumFrame(file, requests) {
  const { head, samples } = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map();
  const walk = (n, parent) => {
    nodes.set(n.id, { ...n, parent });
    for (const c of n.children) walk(c, nodes.get(n.id));
  };
  walk(head, undefined);
  const name = (f) =>
    `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(services|packages|cmd)\//, '$1/').replace(/^.*node_modules\//, '')}:${f.lineNumber + 1}`;
  const totals = new Map();
  let all = 0;
  for (const s of samples) {
    all += s.size;
    let n = nodes.get(s.nodeId);
    while (n && !/\/(services|packages|cmd)\//.test(n.callFrame.url)) n = n.parent;
    const key = n ? name(n.callFrame) : '(no Vallum frame: node, V8, dependencies)';
    totals.set(key, (totals.get(key) ?? 0) + s.size);
  }
  console.log(`\n${file}: ${Math.round(all / requests)} bytes sampled per request, by the nearest Vallum frame:`);
  for (const [k, v] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${String(Math.round(v / requests)).padStart(7)}  ${k}`);
}

const rows = [];
let n = 0;
for (let pair = 0; pair < PAIRS; pair++) {
  for (const tree of pair % 2 === 0 ? trees : [...trees].reverse()) {
    const v = await startVallum(tree, n++);
    for (const route of ROUTES) {
      for (let served = 0; served < WARM_REQUESTS; ) served += await wrk(v, route, 4);
    }
    for (const route of ROUTES) {
      const gc = { ...v.gc };
      const cpu = cpuOf(v.child.pid);
      if (HEAP) v.child.kill('SIGUSR2');
      const requests = await wrk(v, route, SECONDS);
      const cpuUs = ((cpuOf(v.child.pid) - cpu) * 1e6) / requests;
      if (HEAP) {
        const written = new Promise((r) => v.child.once('heap-profile', r));
        v.child.kill('SIGUSR2');
        await written;
      }
      await new Promise((r) => setTimeout(r, 200));
      const per = (k) => (v.gc[k] - gc[k]) / requests;
      const row = {
        tree,
        route,
        pair,
        requests,
        cpuUs,
        allocated: per('allocated'),
        promoted: per('promoted'),
        scavenges: per('scavenges') * 1000,
        majors: per('majors') * 1000,
      };
      rows.push(row);
      console.error(JSON.stringify(row));
      if (HEAP) byVallumFrame(v.profile, requests);
    }
    v.child.removeAllListeners('exit');
    const exited = new Promise((r) => v.child.once('exit', r));
    v.child.kill('SIGTERM');
    await exited;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`\n${SIZE}, ${PAIRS} fresh process(es) per tree, ${WARM_REQUESTS} warm-up requests per route, ${SECONDS} s measured; medians`);
console.log(
  '\n| route | tree | bytes allocated/req | bytes promoted/req | scavenges per 1,000 req | mark-compacts per 1,000 req | CPU µs/req | CPU × the --compare tree (paired) |',
);
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const route of ROUTES) {
  for (const tree of trees) {
    const rs = rows.filter((r) => r.route === route && r.tree === tree);
    const paired = rs.map((r) => r.cpuUs / rows.find((b) => b.route === route && b.tree === trees.at(-1) && b.pair === r.pair).cpuUs);
    console.log(
      `| ${route} | ${tree} | ${median(rs.map((r) => r.allocated)).toFixed(0)} | ${median(rs.map((r) => r.promoted)).toFixed(0)} | ${median(rs.map((r) => r.scavenges)).toFixed(2)} | ${median(rs.map((r) => r.majors)).toFixed(2)} | ${median(rs.map((r) => r.cpuUs)).toFixed(0)} | ${median(paired).toFixed(2)} (${paired.map((x) => x.toFixed(2)).join(', ')}) |`,
    );
  }
}
process.exit(0);
