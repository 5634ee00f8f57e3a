#!/usr/bin/env node
// Memory per idle open WebSocket through Vallum, at 10,000 connections. Vallum runs all-in-one in a process of its
// own (parts/vallum-process.mjs) with an authenticated route (a policy on groups) to an upstream WebSocket server
// here; each client upgrades with a session cookie, the tunnel is checked with one frame on a sample, then every
// connection stays open and idle. Vallum's heap and RSS after a full collection, against the same process before the
// connections, divided by the connections open, is the cost per connection (its two sockets, the tunnel, the
// long-lived connection watch that re-checks each one against the policy).
// Each connection takes a file descriptor in Vallum for each side and two here: the script re-runs itself under
// `prlimit --nofile=65536` when the limit is lower (root may raise it; otherwise it opens as many as fit).
// Run: npx tsc -b && node bench/scale/websockets.mjs [--connections 10000] [--quick]
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort } from '@vallum/testing';
import { benchConfig, startVallumProcess } from './parts/child.mjs';

const quick = process.argv.includes('--quick');
const wanted = Number(process.argv[process.argv.indexOf('--connections') + 1]) || (quick ? 1_000 : 10_000);
const FD_LIMIT = 65_536;

const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || 1024;
if (limit < 2 * wanted + 1000 && !process.env.VALLUM_BENCH_PRLIMIT) {
  const again = spawnSync('prlimit', [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, '--', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, VALLUM_BENCH_PRLIMIT: '1' },
  });
  if (again.status === 0 || again.error === undefined) process.exit(again.status ?? 1);
  console.error(`cannot raise the open-file limit (${limit}): ${again.error.message}`);
}
const connections = Math.min(wanted, Math.floor((limit - 1000) / 2));
if (connections < wanted) console.error(`open-file limit ${limit}: opening ${connections} connections, not ${wanted} (run as root, or raise ulimit -n)`);
const checkpoints = [...new Set([connections / 10, connections / 2, connections].map(Math.round))];
/** A target set here: what one idle WebSocket costs Vallum, heap and RSS together. */
const TARGET_BYTES_PER_CONNECTION = 16 * 1024;
const BATCH = 200;

// The upstream: a WebSocket handshake (RFC 6455), then an echo of a client's first small text frame, unmasked.
// (Vallum keeps the two sides of a tunnel open while the upstream keeps a half-closed connection open.)
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const upstreamSockets = new Set();
const upstream = createServer((_req, res) => res.writeHead(426).end());
upstream.on('upgrade', (req, socket) => {
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  upstreamSockets.add(socket);
  socket.on('error', () => {});
  socket.once('close', () => upstreamSockets.delete(socket));
  // As WebSocket servers do (ws among them): the peer's end of the stream closes the connection.
  socket.once('end', () => socket.destroy());
  socket.once('data', (frame) => {
    const length = frame[1] & 0x7f;
    const mask = frame.subarray(2, 6);
    const payload = Buffer.from(frame.subarray(6, 6 + length)).map((b, i) => b ^ mask[i % 4]);
    socket.write(Buffer.concat([Buffer.from([0x81, length]), payload]));
  });
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', 1024, r));
const dir = mkdtempSync(join(tmpdir(), 'vallum-ws-bench-'));
const port = await getFreePort();
const file = join(dir, 'vallum.yaml');
writeFileSync(file, benchConfig(port, `http://127.0.0.1:${upstream.address().port}`));
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
  rows.push({ open: sockets.length, upstream: upstreamSockets.size, memory: await vallum.memory() });
}
const openSeconds = (performance.now() - started) / 1000;
for (const s of sockets) s.destroy();
await vallum.stop();
for (const s of upstreamSockets) s.destroy();
await new Promise((r) => upstream.close(r));
rmSync(dir, { recursive: true, force: true });

const mib = (b) => (b / 1024 / 1024).toFixed(1);
const row = (cells) => console.log(`| ${cells.join(' | ')} |`);
console.log(
  `idle WebSockets through Vallum (authenticated route, all-in-one process), opened ${BATCH} at a time ` +
    `(${(sockets.length / openSeconds).toFixed(0)} upgrades/s); baseline heap ${mib(before.heapUsed)} MiB, RSS ${mib(before.rss)} MiB:`,
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
