#!/usr/bin/env node
// Memory per cached session in Vallum's process at 100,000 sessions. Vallum runs all-in-one in a process of its own
// (parts/vallum-process.mjs) with every session already in its store; then each session makes one request on an
// authenticated route, as a signed-in browser would, which puts it in the proxy's in-process caches (the session
// copy, the opened cookie, the signed identity assertion, the identity header lines). Heap and RSS after a full
// collection are read at checkpoints; their growth over the baseline (store filled, no request yet) divided by the
// sessions seen is the cost per cached session. The caches are bounded, so past their bounds the growth stops.
// Run: npx tsc -b && node bench/scale/sessions.mjs [--sessions 100000] [--quick]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { getFreePort } from '@vallum/testing';
import { benchConfig, startVallumProcess } from './parts/child.mjs';

const quick = process.argv.includes('--quick');
const total = Number(process.argv[process.argv.indexOf('--sessions') + 1]) || (quick ? 10_000 : 100_000);
const checkpoints = [...new Set([total / 10, total / 4, total / 2, total].map(Math.round))];
const CONCURRENCY = 16;
/** Targets set here: heap per cached session, and the caches' bound holding (no growth past 50,000 sessions). */
const TARGET_BYTES_PER_SESSION = 4096;
const PROXY_CACHE_BOUND = 50_000;

const upstream = createServer((_req, res) => res.end('ok'));
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const dir = mkdtempSync(join(tmpdir(), 'vallum-sessions-bench-'));
const port = await getFreePort();
const file = join(dir, 'vallum.yaml');
writeFileSync(file, benchConfig(port, `http://127.0.0.1:${upstream.address().port}`));
const vallum = await startVallumProcess(file);

const cookies = [];
for (let from = 0; from < total; from += 10_000) cookies.push(...(await vallum.mint(Math.min(10_000, total - from), from)));
const before = await vallum.memory();

const pool = new Pool(`http://127.0.0.1:${vallum.port}`, { connections: CONCURRENCY });
/** Answers other than 200, by status. */
const failures = new Map();
async function visit(from, to) {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const i = next++;
      const res = await pool.request({ path: '/', method: 'GET', headers: { host: `app.localhost:${port}`, cookie: `${vallum.cookieName}=${cookies[i]}` } });
      await res.body.dump();
      if (res.statusCode !== 200) failures.set(res.statusCode, (failures.get(res.statusCode) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const rows = [];
let seen = 0;
const started = performance.now();
for (const at of checkpoints) {
  await visit(seen, at);
  seen = at;
  rows.push({ sessions: at, memory: await vallum.memory() });
}
const seconds = (performance.now() - started) / 1000;
await pool.close();
await vallum.stop();
await new Promise((r) => upstream.close(r));
rmSync(dir, { recursive: true, force: true });

const mib = (b) => (b / 1024 / 1024).toFixed(1);
const row = (cells) => console.log(`| ${cells.join(' | ')} |`);
console.log(
  `memory per cached session in Vallum's process (all-in-one, memory store), ${total.toLocaleString('en')} sessions in the store, one request each ` +
    `(${CONCURRENCY} in flight, ${failures.size === 0 ? 'all 200' : `not 200: ${[...failures].map(([s, n]) => `${n} × ${s}`).join(', ')}`}, ${(seen / seconds).toFixed(0)} first requests/s); baseline heap ${mib(before.heapUsed)} MiB, RSS ${mib(before.rss)} MiB:`,
);
row(['sessions seen', 'heap Δ MiB', 'RSS Δ MiB', 'heap bytes per session', 'RSS bytes per session', `heap per session ≤ ${TARGET_BYTES_PER_SESSION} B`]);
row(['---', '---', '---', '---', '---', '---']);
for (const { sessions, memory } of rows) {
  const heap = memory.heapUsed - before.heapUsed;
  const rss = memory.rss - before.rss;
  const perSession = heap / Math.min(sessions, PROXY_CACHE_BOUND);
  row([
    sessions.toLocaleString('en'),
    mib(heap),
    mib(rss),
    perSession.toFixed(0),
    (rss / Math.min(sessions, PROXY_CACHE_BOUND)).toFixed(0),
    perSession <= TARGET_BYTES_PER_SESSION ? 'met' : 'missed',
  ]);
}
const atBound = rows.find((r) => r.sessions >= Math.min(total, PROXY_CACHE_BOUND)) ?? rows.at(-1);
const last = rows.at(-1);
const growth = last.memory.heapUsed - before.heapUsed - (atBound.memory.heapUsed - before.heapUsed);
console.log(
  `Per session = Δ / min(sessions, ${PROXY_CACHE_BOUND.toLocaleString('en')}) (the proxy's session copies are capped at that). ` +
    `Heap growth from ${atBound.sessions.toLocaleString('en')} to ${last.sessions.toLocaleString('en')} sessions: ${mib(growth)} MiB ` +
    `(bounded: ${growth <= 0.1 * (atBound.memory.heapUsed - before.heapUsed) ? 'met' : 'missed'}).`,
);
