#!/usr/bin/env node
// Memory per idle open WebSocket through Vallum, at 10,000 connections. Vallum runs all-in-one in a process of its
// own (parts/vallum-process.mjs) with an authenticated route (a policy on groups) to an upstream WebSocket server
// here; each client upgrades with a session cookie, the tunnel is checked with one frame on a sample, then every
// connection stays open and idle. Vallum's heap and RSS after a full collection, against the same process before the
// connections, divided by the connections open, is the cost per connection (its two sockets, the tunnel, the
// long-lived connection watch that re-checks each one against the policy).
// Each connection takes two file descriptors in Vallum (one per side), one here and one in the upstream's process:
// the script re-runs itself under `prlimit --nofile=65536` when the limit is lower and may be raised (root with
// CAP_SYS_RESOURCE); otherwise it opens as many as fit in Vallum's limit, and says so.
// Run: npx tsc -b && node bench/scale/websockets.mjs [--connections 10000] [--quick]
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort } from '@vallum/testing';
import { benchConfig, startVallumProcess } from './parts/child.mjs';

const quick = process.argv.includes('--quick');
const wanted = Number(process.argv[process.argv.indexOf('--connections') + 1]) || (quick ? 1_000 : 10_000);
const FD_LIMIT = 65_536;

const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || 1024;
// Vallum holds two sockets per connection (client and upstream side); the clients and the upstream one each.
if (limit < 2 * wanted + 200 && !process.env.VALLUM_BENCH_PRLIMIT) {
  const raised = spawnSync('prlimit', [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, '--', 'true'], { stdio: 'ignore' }).status === 0;
  if (raised) {
    const again = spawnSync('prlimit', [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, '--', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, VALLUM_BENCH_PRLIMIT: '1' },
    });
    process.exit(again.status ?? 1);
  }
}
const connections = Math.min(wanted, Math.floor((limit - 200) / 2));
const fdNote =
  connections < wanted
    ? `; the open-file limit is ${limit} and cannot be raised here (prlimit needs CAP_SYS_RESOURCE), so ${connections.toLocaleString('en')} connections, not ${wanted.toLocaleString('en')}`
    : '';
const checkpoints = [...new Set([connections / 10, connections / 2, connections].map(Math.round))];
/** A target set here: what one idle WebSocket costs Vallum, heap and RSS together. */
const TARGET_BYTES_PER_CONNECTION = 16 * 1024;
const BATCH = 200;

const upstream = fork(fileURLToPath(new URL('./parts/ws-upstream.mjs', import.meta.url)));
const fromUpstream = () => new Promise((resolve) => upstream.once('message', resolve));
const upstreamPort = (await fromUpstream()).port;
const upstreamCount = async () => {
  const answer = fromUpstream();
  upstream.send({ type: 'count' });
  return (await answer).count;
};
const dir = mkdtempSync(join(tmpdir(), 'vallum-ws-bench-'));
const port = await getFreePort();
const file = join(dir, 'vallum.yaml');
writeFileSync(file, benchConfig(port, `http://127.0.0.1:${upstreamPort}`));
const vallum = await startVallumProcess(file);
const [cookie] = await vallum.mint(1, 0);

/** One WebSocket through Vallum; with `check`, a frame goes through and back first. */
function open(check) {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: vallum.port,
      path: '/socket',
      headers: {
        host: `app.localhost:${port}`,
        cookie: `${vallum.cookieName}=${cookie}`,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': createHash('md5').update(String(Math.random())).digest('base64'),
      },
    });
    req.on('response', (res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    req.on('error', reject);
    req.on('upgrade', (_res, socket) => {
      socket.on('error', () => {});
      if (!check) return resolve(socket);
      const mask = Buffer.from([1, 2, 3, 4]);
      const text = Buffer.from('hi');
      socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | text.length]), mask, text.map((b, i) => b ^ mask[i % 4])]));
      socket.once('data', (frame) => (frame.subarray(2).toString() === 'hi' ? resolve(socket) : reject(new Error('the frame did not come back'))));
    });
    req.end();
  });
}

// Warm up the path (and its first-use allocations), then the baseline with none open.
for (const s of await Promise.all(Array.from({ length: 50 }, () => open(true)))) s.destroy();
await new Promise((r) => setTimeout(r, 500));
const before = await vallum.memory();

const sockets = [];
const rows = [];
const started = performance.now();
for (const at of checkpoints) {
  while (sockets.length < at) {
    const n = Math.min(BATCH, at - sockets.length);
    sockets.push(...(await Promise.all(Array.from({ length: n }, (_, i) => open((sockets.length + i) % 100 === 0)))));
  }
  await new Promise((r) => setTimeout(r, 200));
  rows.push({ open: sockets.length, upstream: await upstreamCount(), memory: await vallum.memory() });
}
const openSeconds = (performance.now() - started) / 1000;
for (const s of sockets) s.destroy();
await vallum.stop();
const upstreamGone = new Promise((r) => upstream.once('exit', r));
upstream.send({ type: 'stop' });
await upstreamGone;
rmSync(dir, { recursive: true, force: true });

const mib = (b) => (b / 1024 / 1024).toFixed(1);
const row = (cells) => console.log(`| ${cells.join(' | ')} |`);
console.log(
  `idle WebSockets through Vallum (authenticated route, all-in-one process), opened ${BATCH} at a time ` +
    `(${(sockets.length / openSeconds).toFixed(0)} upgrades/s)${fdNote}; baseline heap ${mib(before.heapUsed)} MiB, RSS ${mib(before.rss)} MiB:`,
);
row([
  'open',
  'at the upstream',
  'heap Δ MiB',
  'RSS Δ MiB',
  'heap bytes / conn',
  'external bytes / conn',
  'RSS bytes / conn',
  `heap + external ≤ ${TARGET_BYTES_PER_CONNECTION / 1024} KiB / conn`,
]);
row(['---', '---', '---', '---', '---', '---', '---', '---']);
for (const { open: n, upstream: up, memory } of rows) {
  const heap = (memory.heapUsed - before.heapUsed) / n;
  const external = (memory.external - before.external) / n;
  row([
    n.toLocaleString('en'),
    up.toLocaleString('en'),
    mib(memory.heapUsed - before.heapUsed),
    mib(memory.rss - before.rss),
    heap.toFixed(0),
    external.toFixed(0),
    ((memory.rss - before.rss) / n).toFixed(0),
    heap + external <= TARGET_BYTES_PER_CONNECTION ? 'met' : 'missed',
  ]);
}
