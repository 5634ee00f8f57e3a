import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countIterations } from '@vallum/testing';
import { BoundedCache } from './bounded-cache.js';
import { createSessionCookieCodec } from './session-cookie.js';

test('a byte bound evicts the oldest entries until the new one fits, and never keeps one larger than the bound', () => {
  const cache = new BoundedCache<string, string>({ maxBytes: 100, sizeOf: (k, v) => k.length + v.length });
  cache.set('a', 'x'.repeat(39), 1000);
  cache.set('b', 'x'.repeat(39), 1000);
  assert.equal(cache.bytes, 80);
  cache.set('c', 'x'.repeat(39), 1000);
  assert.equal(cache.get('a'), undefined, 'the oldest made room');
  assert.ok(cache.get('b') && cache.get('c'));
  assert.equal(cache.bytes, 80);
  cache.set('huge', 'x'.repeat(200), 1000);
  assert.equal(cache.get('huge'), undefined);
  assert.equal(cache.size, 2, 'an entry that can never fit evicts nothing');
  cache.set('b', 'y', 1000);
  assert.equal(cache.bytes, 42, 'a replaced entry gives its bytes back');
  cache.delete('b');
  cache.delete('c');
  assert.equal(cache.bytes, 0);
});

test('expired entries give their bytes and group membership back when read', () => {
  let now = 0;
  const cache = new BoundedCache<string, string>({ maxBytes: 100, sizeOf: () => 10, groupOf: () => 's1', now: () => now });
  cache.set('a', 'v', 50);
  now = 50;
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.bytes, 0);
  cache.deleteGroup('s1');
  assert.equal(cache.size, 0);
});

test("regression: dropping one group touches only that group's entries, not the whole cache", () => {
  const cache = new BoundedCache<string, string>({ maxEntries: 100_000, groupOf: (key) => key.split('\n')[0] });
  for (let s = 0; s < 10_000; s++) for (let a = 0; a < 3; a++) cache.set(`s${s}\naud${a}`, 'jwt', 60_000);
  const steps = countIterations(() => cache.deleteGroup('s42'));
  assert.ok(steps <= 4, `${steps} iteration steps`);
  assert.equal(cache.size, 30_000 - 3);
  assert.equal(cache.get('s42\naud0'), undefined);
  assert.equal(cache.get('s43\naud0'), 'jwt');
});

test("regression: forgetting a session's memoised cookies does not scan every cookie", async () => {
  const codec = createSessionCookieCodec('c'.repeat(32), { memoEntries: 10_000 });
  const cookies: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const cookie = await codec.seal({ sid: `s${i % 1000}`, expiresAt: Date.now() + 60_000 });
    cookies.push(cookie);
    await codec.open(cookie);
  }
  assert.ok(
    cookies.every((c) => codec.peek(c) !== undefined),
    'all memoised',
  );
  const steps = countIterations(() => codec.forget('s7'));
  assert.ok(steps <= 4, `${steps} iteration steps for a session with 2 cookies among 2000`);
  assert.equal(codec.peek(cookies[7]!), undefined, 'its cookies must be decrypted again');
  assert.equal(codec.peek(cookies[1007]!), undefined);
  assert.ok(codec.peek(cookies[8]!), 'other sessions keep theirs');
});
