#!/usr/bin/env node
// A config reload at 10,000 routes: the time to load the new config from its file (as the file watcher and SIGHUP
// do: the YAML parsed in a worker thread, then validated and built) and to swap it in, the event loop's longest
// stall, and the latency of the requests served while it happens (a bounded loopback load of 8 concurrent keep-alive
// requests), against the same load with no reload, and 10 routes against 10,000, in the same run.
// Run: npx tsc -b && node bench/scale/reload.mjs [--routes 10000] [--quick]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';
import { loadVallumConfigOffThread, loadVallumConfigText, startVallum } from '@vallum/cmd';

const quick = process.argv.includes('--quick');
const routes = Number(process.argv[process.argv.indexOf('--routes') + 1]) || (quick ? 2_000 : 10_000);
const RELOADS = quick ? 1 : 3;
const CONCURRENCY = 8;
/**
 * The target set for this bench, a ratio to the same run's baseline (a loaded machine moves both): the p99 of the
 * requests served during a reload at most twice the p99 without one.
 */
const TARGET_P99_RATIO = 2;
const dir = mkdtempSync(join(tmpdir(), 'vallum-reload-bench-'));
const file = join(dir, 'vallum.yaml');

const upstream = createServer((_req, res) => res.end('ok'));
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const to = `http://127.0.0.1:${upstream.address().port}`;

function configText(port, count, generation) {
  const lines = [
    `authenticate_service_url: http://authenticate.localhost:${port}`,
    'authorize_service_url: http://127.0.0.1:9',
    'cache_service_url: http://127.0.0.1:9',
    'idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: s, allow_insecure_http: true }',
    `shared_secret: ${'s'.repeat(32)}`,
    `cookie_secret: ${'c'.repeat(32)}`,
    'routes:',
    `  - { from: "http://public.localhost:${port}", to: "${to}", allow_public_unauthenticated_access: true }`,
  ];
  for (let i = 1; i < count; i++) {
    lines.push(
      `  - { from: "http://h${i % 100}.localhost:${port}", prefix: "/g${generation}/r${i}/", to: "${to}", allow_public_unauthenticated_access: true }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/** Keeps CONCURRENCY requests in flight until `stop()`, recording each one's latency in ms. */
function load(pool, port) {
  const latencies = [];
  let running = true;
  /** Failed requests by status or error code. */
  const errors = new Map();
  const failed = (why) => errors.set(why, (errors.get(why) ?? 0) + 1);
  const worker = async () => {
    while (running) {
      const t = performance.now();
      try {
        const res = await pool.request({ path: '/', method: 'GET', headers: { host: `public.localhost:${port}` } });
        await res.body.text();
        if (res.statusCode !== 200) failed(res.statusCode);
      } catch (err) {
        failed(err.code ?? err.message);
      }
      latencies.push(performance.now() - t);
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  return async () => {
    running = false;
    await Promise.all(workers);
    return { latencies: latencies.sort((a, b) => a - b), errors };
  };
}

async function scenario(count) {
  // The port is fixed before the first config is built: routes name it in `from`.
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));

  const initial = loadVallumConfigText(configText(port, count, 0), 'reload-bench.yaml');
  const vallum = await startVallum(initial, { address: `127.0.0.1:${port}`, logger: false });
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY });

  // Warm up, then the same load with no reload as the baseline.
  const stopWarm = load(pool, port);
  await new Promise((r) => setTimeout(r, 1000));
  await stopWarm();
  const stopQuiet = load(pool, port);
  await new Promise((r) => setTimeout(r, 2000));
  const quiet = await stopQuiet();

  const rounds = [];
  for (let g = 1; g <= RELOADS; g++) {
    writeFileSync(file, configText(port, count, g));
    const stop = load(pool, port);
    await new Promise((r) => setTimeout(r, 200));
    const stall = monitorEventLoopDelay({ resolution: 10 });
    stall.enable();
    const t0 = performance.now();
    const next = await loadVallumConfigOffThread(file);
    const t1 = performance.now();
    await vallum.reload(next);
    const t2 = performance.now();
    stall.disable();
    await new Promise((r) => setTimeout(r, 200));
    const served = await stop();
    rounds.push({ parse: t1 - t0, swap: t2 - t1, stall: stall.max / 1e6, served });
  }
  await pool.close();
  await vallum.close();
  return { count, quiet, rounds };
}

const results = [await scenario(10), await scenario(routes)];
await new Promise((r) => upstream.close(r));
rmSync(dir, { recursive: true, force: true });

const shownErrors = (errors) => (errors.size === 0 ? 0 : [...errors].map(([why, n]) => `${n} × ${why}`).join(', '));
const row = (cells) => console.log(`| ${cells.join(' | ')} |`);
const ms = (v) => v.toFixed(1);
const p = (r, q) => ms(percentile(r.latencies, q));
console.log(`config reload, ${CONCURRENCY} requests in flight on loopback, 10 routes against ${routes.toLocaleString('en')} in the same run:`);
console.log(
  `| routes | run | load config ms | swap ms | longest loop stall ms | µs per route | requests | errors | p50 ms | p99 ms | max ms | p99 / quiet p99 | p99 ≤ ${TARGET_P99_RATIO}× quiet p99 |`,
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const { count, quiet, rounds } of results) {
  const quietP99 = percentile(quiet.latencies, 99);
  row([
    count,
    'no reload (2 s)',
    '–',
    '–',
    '–',
    '–',
    quiet.latencies.length,
    shownErrors(quiet.errors),
    p(quiet, 50),
    p(quiet, 99),
    ms(quiet.latencies.at(-1) ?? 0),
    '1.00×',
    '',
  ]);
  rounds.forEach((r, i) => {
    const p99 = percentile(r.served.latencies, 99);
    row([
      count,
      `reload ${i + 1}`,
      ms(r.parse),
      ms(r.swap),
      ms(r.stall),
      (((r.parse + r.swap) * 1000) / count).toFixed(0),
      r.served.latencies.length,
      shownErrors(r.served.errors),
      p(r.served, 50),
      ms(p99),
      ms(r.served.latencies.at(-1) ?? 0),
      `${(p99 / quietP99).toFixed(2)}×`,
      p99 <= TARGET_P99_RATIO * quietP99 ? 'met' : 'missed',
    ]);
  });
}
