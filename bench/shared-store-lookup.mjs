#!/usr/bin/env node
// What a worker of `vallum --workers N` without Redis pays when its in-process copy of a session is missing (a new
// session, or every 10 s per session and worker): the sessions live in the primary. Measured from a child process:
// a read over the IPC channel (Vallum's choice, shared-store.ts), against a read through the cache service's HTTP API
// on loopback with the split-mode client (the alternative), and a read from an in-process store (one process).
// Usage: node bench/shared-store-lookup.mjs [--reads 3000]
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

const READS = Number(/--reads[= ](\d+)/.exec(process.argv.slice(2).join(' '))?.[1] ?? 3000);
const { createMemoryStore } = await import('@vallum/cache');
const { createIpcCacheClient, serveStore } = await import('@vallum/cmd');

/** A memory store holding 100 sessions, and their ids. */
async function storeWithSessions() {
  const store = createMemoryStore();
  const ids = [];
  for (let i = 0; i < 100; i++) {
    const now = Date.now();
    const session = { id: randomUUID(), sub: 'alice', email: 'alice@example.com', groups: ['admins'], claims: {}, createdAt: now, expiresAt: now + 3_600_000 };
    await store.putSession(session);
    ids.push(session.id);
  }
  return { store, ids };
}

async function time(get, ids) {
  for (let i = 0; i < 300; i++) await get(ids[i % ids.length]); // warm-up
  const started = performance.now();
  for (let i = 0; i < READS; i++) if (!(await get(ids[i % ids.length]))) throw new Error('no session');
  return ((performance.now() - started) * 1000) / READS;
}

if (process.argv[2] === '--worker') {
  const { createHttpCacheClient } = await import('@vallum/service-client');
  const { createServiceTokenSigner } = await import('@vallum/service-auth');
  const { url, secret, ids } = await new Promise((resolve) => process.once('message', resolve));
  const ipc = createIpcCacheClient();
  const http = createHttpCacheClient({ url, service: 'cache', signer: createServiceTokenSigner(secret, 'proxy') });
  const local = await storeWithSessions();
  const rows = [
    ['in-process memory store (one process)', await time((id) => local.store.getSession(id), local.ids)],
    ["the primary's store over IPC (Vallum's choice)", await time((id) => ipc.getSession(id), ids)],
    ["the primary's cache service over loopback HTTP", await time((id) => http.getSession(id), ids)],
  ];
  console.log(`${READS} sequential session reads each, µs per read (× over IPC):`);
  for (const [name, us] of rows) console.log(`  ${name.padEnd(50)} ${us.toFixed(1).padStart(8)} µs  ${(us / rows[1][1]).toFixed(2)}×`);
  process.exit(0);
} else {
  const { buildApp } = await import('@vallum/cache');
  const { store, ids } = await storeWithSessions();
  const secret = randomBytes(32).toString('base64url');
  const app = buildApp({ sharedSecret: secret, logLevel: 'warn' }, { store, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const worker = fork(new URL(import.meta.url).pathname, ['--worker', '--reads', String(READS)]);
  // serveStore takes cluster workers; a forked child has the same channel under other names.
  const served = serveStore(store, () => []);
  served.attach({ on: (event, listener) => worker.on(event, listener), send: (m) => worker.send(m), isConnected: () => worker.connected });
  worker.send({ url: `http://127.0.0.1:${app.server.address().port}`, secret, ids });
  await new Promise((resolve) => worker.once('exit', resolve));
  served.close();
  await app.close();
}
