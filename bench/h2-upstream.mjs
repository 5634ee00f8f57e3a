#!/usr/bin/env node
// HTTP/2 upstream client benchmark (issue 16): Vallum's node:http2 session (services/proxy h2-upstream.ts) against
// undici's own HTTP/2 clients (H2CClient for h2c, a Pool with allowH2 for h2 over TLS), measured in the same run on
// the same node:http2 upstream. Each sends the same requests through the dispatch API with a raw handler, as
// forward.ts does, `--concurrency` at a time; prints req/s and the ratio to undici.
// Run: npx tsc -b && node bench/h2-upstream.mjs [--requests 20000] [--concurrency 50] [--rounds 3]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, createSecureServer } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { H2CClient, Pool } from 'undici';
import { H2Upstream } from '../services/proxy/dist/h2-upstream.js';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '50' }, rounds: { type: 'string', default: '3' } },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const BODY = Buffer.alloc(1024, 'x');

const dir = mkdtempSync(join(tmpdir(), 'vallum-h2-bench-'));
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'k.pem'),
    '-out',
    join(dir, 'c.pem'),
    '-subj',
    '/CN=localhost',
    '-days',
    '1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ],
  { stdio: 'pipe' },
);
const cert = readFileSync(join(dir, 'c.pem'));
const answer = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length });
  res.end(BODY);
};
const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const h2cPort = await listen(createServer({ settings: { maxConcurrentStreams: 1000 } }, answer));
const h2Port = await listen(createSecureServer({ cert, key: readFileSync(join(dir, 'k.pem')), settings: { maxConcurrentStreams: 1000 } }, answer));

/** One request through `dispatcher`, settled when its body is read. */
function one(dispatcher) {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    dispatcher.dispatch(
      { path: '/x', method: 'GET', headers: ['x-request-id', 'abc'], body: null, headersTimeout: 10_000, bodyTimeout: 10_000 },
      {
        onConnect() {},
        onHeaders: () => true,
        onData(chunk) {
          bytes += chunk.length;
          return true;
        },
        onComplete: () => (bytes === BODY.length ? resolve() : reject(new Error(`got ${bytes} bytes`))),
        onError: reject,
      },
    );
  });
}

async function run(dispatcher) {
  let sent = 0;
  const worker = async () => {
    while (sent < REQUESTS) {
      sent++;
      await one(dispatcher);
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return REQUESTS / (Number(process.hrtime.bigint() - start) / 1e9);
}

const tls = { ca: cert, rejectUnauthorized: true };
const pairs = [
  [
    'h2c',
    () => new H2Upstream(new URL(`http://127.0.0.1:${h2cPort}`), { tls: {}, connectTimeoutMs: 5000, idleTimeoutMs: 30_000 }),
    () => new H2CClient(`http://127.0.0.1:${h2cPort}`, { maxConcurrentStreams: 1000, pipelining: CONCURRENCY }),
  ],
  [
    'h2 (TLS)',
    () => new H2Upstream(new URL(`https://127.0.0.1:${h2Port}`), { tls: { ca: cert, skipVerify: false }, connectTimeoutMs: 5000, idleTimeoutMs: 30_000 }),
    () => new Pool(`https://127.0.0.1:${h2Port}`, { allowH2: true, connections: 1, pipelining: CONCURRENCY, connect: tls }),
  ],
];

console.log(`${REQUESTS} requests of a 1 KiB response, ${CONCURRENCY} at a time, ${ROUNDS} interleaved rounds (median req/s)`);
for (const [name, vallum, undici] of pairs) {
  const clients = { vallum: vallum(), undici: undici() };
  await run(clients.vallum);
  await run(clients.undici);
  const rates = { vallum: [], undici: [] };
  for (let r = 0; r < ROUNDS; r++) for (const k of ['vallum', 'undici']) rates[k].push(await run(clients[k]));
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const v = median(rates.vallum);
  const u = median(rates.undici);
  console.log(
    `${name.padEnd(9)} node:http2 session ${v.toFixed(0).padStart(6)} req/s   undici ${u.toFixed(0).padStart(6)} req/s   ratio ${(v / u).toFixed(2)}×`,
  );
  await clients.vallum.close();
  await clients.undici.close();
}
process.exit(0);
