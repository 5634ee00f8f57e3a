import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createResponseCache, storableLifetime, varyOf, type CacheEntry } from './response-cache.js';

const now = Date.parse('2026-11-24T12:00:00Z');
const lifetime = (headers: string[], opts: { status?: number; userIdentified?: boolean; sent?: string[]; identityNames?: Set<string> } = {}) =>
  storableLifetime({
    status: opts.status ?? 200,
    headers,
    sent: opts.sent ?? [],
    userIdentified: opts.userIdentified ?? false,
    identityNames: opts.identityNames,
    now,
  });

test('what a shared cache may store, and for how long', () => {
  assert.equal(lifetime(['Cache-Control', 'max-age=60']), 60_000);
  assert.equal(lifetime(['Cache-Control', 'max-age=60, s-maxage=5']), 5_000);
  assert.equal(lifetime(['Expires', 'Tue, 24 Nov 2026 12:00:30 GMT', 'Date', 'Tue, 24 Nov 2026 12:00:00 GMT']), 30_000);
  assert.equal(lifetime(['Cache-Control', 'no-cache', 'ETag', '"a"']), 0, 'kept only to revalidate');
  assert.equal(lifetime(['Cache-Control', 'no-store, max-age=60']), undefined);
  assert.equal(lifetime(['Cache-Control', 'private, max-age=60']), undefined);
  assert.equal(lifetime(['Cache-Control', 'max-age=60', 'Set-Cookie', 'a=1']), undefined);
  assert.equal(lifetime(['Cache-Control', 'max-age=60', 'Vary', '*']), undefined);
  assert.equal(lifetime(['Content-Type', 'text/plain']), undefined, 'no freshness and no validator');
  assert.equal(lifetime(['Cache-Control', 'max-age=60'], { status: 500 }), undefined);
  assert.equal(lifetime(['Cache-Control', 'max-age=60'], { sent: ['cache-control', 'no-store'] }), undefined);
});

test("a signed-in user's response is kept only when explicitly shared", () => {
  assert.equal(lifetime(['Cache-Control', 'max-age=60'], { userIdentified: true }), undefined);
  assert.equal(lifetime(['Cache-Control', 'public, max-age=60'], { userIdentified: true }), 60_000);
  assert.equal(lifetime(['Cache-Control', 'max-age=60'], { sent: ['authorization', 'Bearer x'] }), undefined);
  assert.equal(lifetime(['Cache-Control', 's-maxage=60'], { sent: ['authorization', 'Bearer x'] }), 60_000);
});

const alice = ['accept', '*/*', 'x-vallum-jwt-assertion', 'eyJ.a.s', 'x-vallum-claim-email', 'alice@example.com', 'x-vallum-claim-groups', 'staff'];

test('regression: a response to a request carrying identity headers is kept only when public and not varying on the user', () => {
  assert.equal(lifetime(['Cache-Control', 'max-age=60'], { sent: alice }), undefined, 'identity headers alone make the request personal');
  assert.equal(lifetime(['Cache-Control', 's-maxage=60'], { sent: alice }), undefined, 'only an explicit public shares it');
  assert.equal(lifetime(['Cache-Control', 's-maxage=60'], { userIdentified: true }), undefined);
  assert.equal(lifetime(['Cache-Control', 'public, max-age=60'], { sent: alice }), 60_000);
  assert.equal(lifetime(['Cache-Control', 'public, max-age=60', 'Vary', 'Accept'], { sent: alice }), 60_000);
  for (const vary of ['X-Vallum-Claim-Email', 'accept, x-vallum-jwt-assertion', 'X_Vallum_Claim_Groups', 'Cookie', 'Authorization', 'X-User']) {
    assert.equal(
      lifetime(['Cache-Control', 'public, max-age=60', 'Vary', vary], { sent: [...alice, 'x-user', 'alice'], identityNames: new Set(['x-user']) }),
      undefined,
      vary,
    );
  }
  assert.equal(lifetime(['Cache-Control', 'public, max-age=60', 'Vary', '*']), undefined);
});

test("regression: Vary is matched against the headers sent upstream, not the client's", () => {
  const cache = createResponseCache(10_000);
  const bob = alice.map((v) => (v === 'alice@example.com' ? 'bob@example.com' : v));
  const headers = ['Cache-Control', 'public, max-age=60', 'Vary', 'X-Vallum-Claim-Email, Accept'];
  cache.store('k', {
    status: 200,
    headers,
    body: Buffer.from('alice'),
    storedAt: now,
    initialAge: 0,
    lifetimeMs: 60_000,
    etag: undefined,
    lastModified: undefined,
    vary: varyOf(headers, alice),
    size: 100,
  });
  assert.ok(cache.lookup('k', alice));
  assert.equal(cache.lookup('k', bob), undefined);
  assert.equal(cache.lookup('k', ['accept', '*/*']), undefined, 'a request without the header is another variant');
});

test('memory is bounded: least recently used entries go first, oversize entries are never stored', () => {
  const cache = createResponseCache(3000);
  const entry = (size: number): CacheEntry => ({
    status: 200,
    headers: [],
    body: Buffer.alloc(size),
    storedAt: now,
    initialAge: 0,
    lifetimeMs: 1000,
    etag: undefined,
    lastModified: undefined,
    vary: [],
    size,
  });
  cache.store('a', entry(1000));
  cache.store('b', entry(1000));
  cache.store('c', entry(1000));
  assert.ok(cache.lookup('a', []), 'a is now the most recently used');
  cache.store('d', entry(1000));
  assert.equal(cache.lookup('b', []), undefined, 'b was the least recently used');
  assert.ok(cache.lookup('a', []) && cache.lookup('c', []) && cache.lookup('d', []));
  assert.ok(cache.bytes <= 3000);
  cache.store('huge', entry(5000));
  assert.equal(cache.lookup('huge', []), undefined);
});
