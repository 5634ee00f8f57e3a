import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache, createHandoffCodec, createSessionCookieCodec, sessionCookieOptions } from './index.js';

const SECRET = 'c'.repeat(32);

test('a sealed session cookie opens to its session id, and a tampered one does not', async () => {
  const codec = createSessionCookieCodec(SECRET);
  const value = await codec.seal({ sid: 'abc', expiresAt: Date.now() + 60_000 });
  assert.equal((await codec.open(value))?.sid, 'abc');
  const i = value.length - 5;
  const tampered = value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1);
  assert.equal(await codec.open(tampered), null);
  assert.equal(await codec.open('garbage'), null);
  assert.equal(await createSessionCookieCodec('d'.repeat(32)).open(value), null, 'another secret cannot open it');
});

test('an expired session cookie is refused even when memoised', async () => {
  let now = 1_700_000_000_000;
  const codec = createSessionCookieCodec(SECRET, { now: () => now });
  const value = await codec.seal({ sid: 's1', expiresAt: now + 10_000 });
  assert.ok(await codec.open(value));
  now += 11_000;
  assert.equal(await codec.open(value), null);
});

test('a hand-off verifies only for its audience and carries the session and return URL', async () => {
  const codec = createHandoffCodec(SECRET);
  const token = await codec.sign({ sid: 's', audience: 'http://app.localhost:8000', redirectUri: 'http://app.localhost:8000/x', sessionExpiresAt: 0 });
  const h = await codec.verify(token, 'http://app.localhost:8000');
  assert.equal(h.sid, 's');
  assert.equal(h.redirectUri, 'http://app.localhost:8000/x');
  await assert.rejects(codec.verify(token, 'http://other.localhost:8000'), { code: 'VALLUM_HANDOFF_INVALID' });
  await assert.rejects(createHandoffCodec('e'.repeat(32)).verify(token, 'http://app.localhost:8000'), { status: 400 });
});

test('the bounded cache evicts the least recently used entry and expires entries', () => {
  let now = 0;
  const cache = new BoundedCache<string, number>(2, () => now);
  cache.set('a', 1, 100);
  cache.set('b', 2, 100);
  cache.get('a');
  cache.set('c', 3, 100);
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a'), 1);
  now = 100;
  assert.equal(cache.get('a'), undefined);
});

test('session cookies are HttpOnly, SameSite=Lax and host-only', () => {
  assert.deepEqual(sessionCookieOptions(true, 10), { httpOnly: true, sameSite: 'lax', secure: true, path: '/', maxAge: 10 });
});
