// The in-memory session store is bounded: past its bounds the oldest session is evicted, counted, logged (without
// secrets) and announced to subscribers, so a flood of sign-ins cannot grow the process without limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Session } from '@vallum/session';
import { createMemoryStore } from './memory-store.js';

function session(id: string, extra: Partial<Session> = {}): Session {
  const now = Date.now();
  return {
    id,
    sub: `sub-${id}`,
    email: `${id}@example.com`,
    groups: [],
    claims: {},
    refreshToken: `rt-secret-${id}`,
    accessToken: `at-secret-${id}`,
    createdAt: now,
    expiresAt: now + 60_000,
    ...extra,
  };
}

function recordingLog() {
  const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
  return { lines, warn: (fields: Record<string, unknown>, message: string) => void lines.push({ fields, message }) };
}

test('regression: the memory store keeps at most max_sessions, evicting the oldest, counting and logging it', async () => {
  const log = recordingLog();
  const store = createMemoryStore({ maxSessions: 3, log });
  const ended: string[] = [];
  store.subscribe((sid) => ended.push(sid));
  for (const id of ['s1', 's2', 's3']) await store.putSession(session(id));
  assert.deepEqual(store.stats().evictions, 0);
  await store.touchSession('s1');
  await store.putSession(session('s4'));
  assert.equal(await store.getSession('s2'), null, 's2 was the least recently written or touched');
  assert.ok((await store.getSession('s1')) && (await store.getSession('s3')) && (await store.getSession('s4')));
  assert.equal(store.stats().sessions, 3);
  assert.equal(store.stats().evictions, 1);
  assert.ok(ended.includes('s2'), 'subscribers (proxies) drop their copies of an evicted session');
  assert.equal(log.lines.length, 1);
  assert.match(log.lines[0]!.message, /session store is full/);
  assert.equal(log.lines[0]!.fields.evicted, 1);
  const logged = JSON.stringify(log.lines);
  for (const secret of ['s2', 'rt-secret', 'at-secret']) assert.ok(!logged.includes(secret), `no ${secret} in the log`);
  await store.close();
});

test('a flood of sessions keeps the store within its bounds and logs once per interval, with the count', async () => {
  const log = recordingLog();
  const store = createMemoryStore({ maxSessions: 100, log });
  for (let i = 0; i < 10_000; i++) await store.putSession(session(`s${i}`));
  assert.equal(store.stats().sessions, 100);
  assert.equal(store.stats().evictions, 9_900);
  assert.equal(log.lines.length, 1, 'not one line per eviction');
  assert.ok((await store.getSession('s9999')) && !(await store.getSession('s0')));
  await store.close();
});

test('the memory store is bounded in bytes too: large sessions evict the oldest', async () => {
  const store = createMemoryStore({ maxBytes: 100_000 });
  const groups = Array.from({ length: 1000 }, (_, i) => `group-${i}`);
  for (let i = 0; i < 20; i++) await store.putSession(session(`s${i}`, { groups }));
  assert.ok(store.stats().bytes <= 100_000, `${store.stats().bytes} bytes`);
  assert.ok(store.stats().sessions < 20 && store.stats().sessions > 0);
  assert.ok(await store.getSession('s19'));
  assert.equal(await store.getSession('s0'), null);
  await store.close();
});

test('an update keeps the idle deadline and replaces the size of the session it rewrites', async () => {
  const store = createMemoryStore({ maxSessions: 10 });
  await store.putSession(session('s1', { idleTimeoutMs: 60_000 }));
  const before = store.stats().bytes;
  assert.equal(await store.updateSession(session('s1', { idleTimeoutMs: 60_000 })), true);
  assert.equal(store.stats().bytes, before);
  assert.ok(await store.getSession('s1'), 'still within its idle timeout');
  await store.deleteSession('s1');
  assert.equal(store.stats().bytes, 0);
  await store.close();
});
