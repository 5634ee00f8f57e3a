import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Decision } from '@vallum/policy';
import type { AuthorizeApi, AuthorizeRequest } from '@vallum/service-client';
import { createCachingAuthorizeClient } from './caching-authorize-client.js';

const input = (over: Partial<AuthorizeRequest['request']> = {}, groups = ['engineering']): AuthorizeRequest => ({
  routeId: 'app',
  identity: { sub: 'a', email: 'a@example.com', groups, claims: {} },
  request: { method: 'GET', host: 'app.localhost', path: '/', sourceIp: '10.0.0.1', ...over },
});

/** An authorize service stand-in that answers `next` and counts calls. */
function counting(next: () => Decision): AuthorizeApi & { calls: number } {
  const api = { calls: 0, evaluate: async () => (api.calls++, next()) };
  return api;
}

test('a cacheable decision is reused for the same session, route, method and path, and only until cacheable_until', async () => {
  let clock = 1000;
  const inner = counting(() => ({ allow: true, reasons: [], policyVersion: 'v1', cacheableUntil: 1500 }));
  const client = createCachingAuthorizeClient(inner, { policyVersion: 'v1', now: () => clock });
  await client.evaluate(input());
  await client.evaluate(input());
  assert.equal(inner.calls, 1);
  for (const other of [input({ path: '/admin' }), input({ method: 'POST' }), input({ sourceIp: '10.0.0.2' }), input({}, ['sales'])])
    await client.evaluate(other);
  assert.equal(inner.calls, 5, 'path, method, client address and identity are all in the key');
  clock = 1500;
  await client.evaluate(input());
  assert.equal(inner.calls, 6, 'never across the boundary');
});

test('decisions without cacheable_until (header criteria, shadow mode) are never cached', async () => {
  const inner = counting(() => ({ allow: true, reasons: [], policyVersion: 'v1' }));
  const client = createCachingAuthorizeClient(inner, { policyVersion: 'v1' });
  await client.evaluate(input());
  await client.evaluate(input());
  assert.equal(inner.calls, 2);
});

test("only decisions under the policy version of this proxy's own config are cached", async () => {
  let version = 'old';
  const inner = counting(() => ({ allow: true, reasons: [], policyVersion: version, cacheableUntil: Date.now() + 60_000 }));
  const client = createCachingAuthorizeClient(inner, { policyVersion: 'new' });
  await client.evaluate(input());
  await client.evaluate(input());
  assert.equal(inner.calls, 2, 'authorize has not reloaded yet: its decisions are not kept');
  version = 'new';
  await client.evaluate(input());
  await client.evaluate(input());
  assert.equal(inner.calls, 3);
  assert.equal(client.size, 1);
});

test('regression: the decision cache is bounded in bytes, however large the identities in its keys', async () => {
  const inner = counting(() => ({ allow: true, reasons: [], policyVersion: 'v1', cacheableUntil: Date.now() + 60_000 }));
  const maxBytes = 1_000_000;
  const client = createCachingAuthorizeClient(inner, { policyVersion: 'v1', maxBytes });
  // A hostile IdP or user with thousands of long group names: each key is about 200 KB.
  const groups = Array.from({ length: 2000 }, (_, i) => `group-${i}-${'x'.repeat(40)}`);
  for (let i = 0; i < 30; i++) await client.evaluate(input({ path: `/${i}` }, groups));
  assert.ok(client.bytes <= maxBytes, `${client.bytes} bytes cached`);
  assert.ok(client.size >= 2 && client.size < 30, `${client.size} entries kept`);
  await client.evaluate(input({ path: '/29' }, groups));
  assert.equal(inner.calls, 30, 'the newest entry is still cached');
  await client.evaluate(input({ path: '/0' }, groups));
  assert.equal(inner.calls, 31, 'the oldest was evicted');
});

test('a decision larger than the whole bound is not cached', async () => {
  const inner = counting(() => ({ allow: true, reasons: [], policyVersion: 'v1', cacheableUntil: Date.now() + 60_000 }));
  const client = createCachingAuthorizeClient(inner, { policyVersion: 'v1', maxBytes: 1000 });
  await client.evaluate(input({}, ['g'.repeat(2000)]));
  assert.equal(client.size, 0);
  assert.equal(client.bytes, 0);
});

test('regression: a decision made for one client certificate is never reused for another, or for none', async () => {
  const inner = counting(() => ({ allow: true, reasons: [], policyVersion: 'v1', cacheableUntil: Date.now() + 10_000 }));
  const client = createCachingAuthorizeClient(inner, { policyVersion: 'v1' });
  const cert = (fingerprint: string) => ({ fingerprint, spkiHash: '', sanEmail: [], sanDns: [], issuer: 'CN=ca' });
  await client.evaluate(input({ clientCertificate: cert('aa') }));
  await client.evaluate(input({ clientCertificate: cert('aa') }));
  assert.equal(inner.calls, 1);
  await client.evaluate(input({ clientCertificate: cert('bb') }));
  await client.evaluate(input());
  assert.equal(inner.calls, 3);
});
