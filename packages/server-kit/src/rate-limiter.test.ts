import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressKey, createRateLimiter } from './rate-limiter.js';

test('a key gets its burst, then 429 with the seconds until one more request is allowed', () => {
  let t = 0;
  const limiter = createRateLimiter({ requests: 3, perMs: 60_000, now: () => t });
  assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a')], [0, 0, 0]);
  assert.equal(limiter.take('a'), 20, 'one token comes back every 20 s');
  t += 19_000;
  assert.equal(limiter.take('a'), 1);
  t += 1_000;
  assert.equal(limiter.take('a'), 0);
  assert.equal(limiter.take('b'), 0, 'other keys have their own budget');
  assert.deepEqual(limiter.stats(), { allowed: 5, limited: 2, keys: 2, evicted: 0 });
});

test('the budget refills to at most `requests`, however long a key was idle', () => {
  let t = 0;
  const limiter = createRateLimiter({ requests: 2, perMs: 1000, now: () => t });
  limiter.take('a');
  t += 3_600_000;
  assert.deepEqual([limiter.take('a'), limiter.take('a')], [0, 0]);
  assert.equal(limiter.take('a'), 1);
});

test('memory is bounded: past maxKeys the least recently used key is forgotten and counted', () => {
  const t = 0;
  const limiter = createRateLimiter({ requests: 1, perMs: 60_000, maxKeys: 2, now: () => t });
  limiter.take('a');
  limiter.take('b');
  assert.ok(limiter.take('a') > 0, 'a is spent, and now the most recently used');
  limiter.take('c');
  assert.deepEqual(limiter.stats(), { allowed: 3, limited: 1, keys: 2, evicted: 1 });
  assert.ok(limiter.take('a') > 0, 'a was kept: b, the least recently used, was forgotten');
  assert.equal(limiter.take('b'), 0);
  for (let i = 0; i < 1000; i++) limiter.take(`k${i}`);
  assert.equal(limiter.stats().keys, 2);
});

test('rate-limit keys: IPv4 as is, IPv4-mapped as IPv4, IPv6 by /64', () => {
  assert.equal(addressKey('10.1.2.3'), '10.1.2.3');
  assert.equal(addressKey('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(addressKey('2001:db8:0:1::5'), '2001:db8:0:1::/64');
  assert.equal(addressKey('2001:DB8:0000:0001:aaaa:bbbb:cccc:dddd'), '2001:db8:0:1::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('::ffff:a01:203'), '10.1.2.3', 'an IPv4-mapped address written in hex is its IPv4 address too');
  assert.equal(addressKey(undefined), '');
});
