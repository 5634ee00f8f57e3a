// On a Redis Cluster a store listens for session changes on one node; when that node dies the subscription moves to
// another node by itself, and changes announced after that still arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Session } from '@vallum/session';
import { redisCli, startRedisCluster } from '@vallum/testing';
import { createRedisStore } from './index.js';

const SECRET = 's'.repeat(32);

function session(id: string): Session {
  const now = Date.now();
  return { id, sub: `sub-${id}`, email: `${id}@example.com`, groups: [], claims: {}, createdAt: now, expiresAt: now + 60_000 };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('cluster: the node a store subscribed on is killed; the store subscribes on another node and hears later changes', async () => {
  const cluster = await startRedisCluster();
  const listener = createRedisStore(cluster.url, { tokenSecret: SECRET });
  const writer = createRedisStore(cluster.url, { tokenSecret: SECRET });
  try {
    const heard = new Set<string>();
    listener.subscribe((sid) => heard.add(sid));
    // The node holding the subscription: the one with a client subscribed to a channel (CLIENT LIST's sub=1).
    const subscribedOn = async () => {
      for (const node of cluster.processes.filter((p) => p.alive())) {
        if (/ sub=1 /.test(await redisCli(node.port, 'client', 'list'))) return node;
      }
      return undefined;
    };
    const first = await until('the store subscribes', 10_000, subscribedOn);
    await writer.putSession(session('before'));
    await until('a change is heard', 5000, async () => (heard.has('before') ? true : undefined));

    await first.kill();
    const second = await until('the store subscribes on another node', 15_000, subscribedOn);
    assert.notEqual(second.port, first.port);
    // Writes may fail until a replica has taken over the killed master's slots (when it was a master).
    await until('a change after the kill is heard', 15_000, async () => {
      await writer.deleteSession('after');
      return heard.has('after') ? true : undefined;
    });
  } finally {
    await listener.close();
    await writer.close();
    await cluster.stop();
  }
});
