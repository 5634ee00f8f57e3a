// The store of `vallum --workers` across a real IPC channel: this file forks itself as the "worker", which calls
// the parent's store through createIpcCacheClient and reports what it saw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:cluster';
import { createMemoryStore } from '@vallum/cache';
import { createIpcCacheClient, serveStore } from './shared-store.js';

const SESSION = { id: 's1', sub: 'alice', email: 'alice@example.com', groups: ['admins'], claims: {}, createdAt: 1, expiresAt: Date.now() + 60_000 };

if (process.argv[2] === '--worker') {
  const cache = createIpcCacheClient();
  const events: string[] = [];
  cache.subscribe((sid) => events.push(sid));
  const read = await cache.getSession('s1');
  const missing = await cache.getSession('nope');
  const claimed = [await cache.claimOnce('k', 60), await cache.claimOnce('k', 60)];
  await cache.deleteSession('s1');
  const failure = await cache.touchSession('boom').then(
    () => undefined,
    (err: { code?: string; status?: number }) => ({ code: err.code, status: err.status }),
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  process.send!({ read, missing, claimed, failure, events });
  process.disconnect();
} else {
  test('a worker reads and changes the primary store over IPC, hears its change events, and gets 503 when it fails', async () => {
    const store = createMemoryStore();
    await store.putSession(SESSION);
    const failing = {
      ...store,
      subscribe: store.subscribe.bind(store),
      touchSession: async (id: string) => {
        if (id === 'boom') throw new Error('store broken');
        return store.touchSession(id);
      },
    };
    const child = fork(fileURLToPath(import.meta.url), ['--worker']);
    const worker = { on: child.on.bind(child), send: child.send.bind(child), isConnected: () => child.connected } as unknown as Worker;
    const served = serveStore(failing, () => [worker]);
    served.attach(worker);
    const report = await new Promise<Record<string, unknown>>((resolve) => child.on('message', (m: Record<string, unknown>) => 'events' in m && resolve(m)));
    served.close();
    await store.close();
    assert.deepEqual((report.read as { email: string }).email, 'alice@example.com');
    assert.equal(report.missing, null);
    assert.deepEqual(report.claimed, [true, false]);
    assert.deepEqual(report.failure, { code: 'VALLUM_CACHE_UNAVAILABLE', status: 503 });
    assert.ok((report.events as string[]).includes('s1'), 'the deletion was heard');
    assert.equal(await store.getSession('s1'), null, 'the worker deleted it in the primary store');
  });
}
