// Vallum all-in-one in a process of its own, started as the `vallum` command starts it (same V8 heap settings), for the memory benchmarks of bench/scale: its session store is made
// here (the memory store, as with no redis_url) so sessions can be put in it, and the parent asks over IPC for
// sessions and their cookies, and for this process's memory after a full collection.
// Usage (from a parent, with an IPC channel): node --expose-gc vallum-process.mjs CONFIG_FILE
import { randomUUID } from 'node:crypto';
import { tuneStartupHeap } from '../../../cmd/vallum/dist/process-memory.js';

tuneStartupHeap();
const { loadVallumConfig, startVallum, restoreHeapGrowth } = await import('@vallum/cmd');
const { createSessionStore } = await import('@vallum/cache');
const { createSessionCookieCodec } = await import('@vallum/session');

const config = loadVallumConfig(process.argv[2], { env: {} });
const store = createSessionStore(config);
const vallum = await startVallum(config, { sharedCache: store, logger: false });
restoreHeapGrowth();
const codec = createSessionCookieCodec(config.cookieSecret);

/** Full collections until the heap stops shrinking, then this process's memory. */
async function memory() {
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
    const used = process.memoryUsage().heapUsed;
    if (used >= last - 64 * 1024) break;
    last = used;
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

/** `count` signed-in sessions in the store, and their cookies. */
async function mint(count, from) {
  const now = Date.now();
  const cookies = [];
  for (let i = 0; i < count; i++) {
    const n = from + i;
    const session = {
      id: randomUUID(),
      sub: `user-${n}`,
      email: `user-${n}@example.com`,
      groups: ['engineering', `team-${n % 50}`],
      claims: { name: `User ${n}` },
      createdAt: now,
      expiresAt: now + 8 * 3_600_000,
    };
    await store.putSession(session);
    cookies.push(await codec.seal({ sid: session.id, expiresAt: session.expiresAt }));
  }
  return cookies;
}

process.on('message', async (message) => {
  if (message.type === 'memory') process.send({ type: 'memory', memory: await memory() });
  else if (message.type === 'mint') process.send({ type: 'minted', cookies: await mint(message.count, message.from ?? 0) });
  else if (message.type === 'stop') {
    await vallum.close();
    process.exit(0);
  }
});
process.send({ type: 'ready', port: vallum.port, cookieName: config.cookieName });
