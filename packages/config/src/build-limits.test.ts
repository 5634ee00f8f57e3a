import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText, parseSize, shareRateLimits } from './index.js';

const BASE = `authenticate_service_url: http://authenticate.localhost:8000
idp:
  issuer: https://127.0.0.1:8010
  client_id: vallum
  client_secret: secret
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
`;

const load = (text: string, env: Record<string, string> = {}) => loadConfigText(text, 'vallum.yaml', { env });

test('limits have defaults that keep long uploads and streams working', () => {
  const { limits, routes } = load(BASE);
  assert.deepEqual(limits, {
    signIn: { requests: 300, perMs: 60_000 },
    backchannelLogout: { requests: 600, perMs: 60_000 },
    headersTimeoutMs: 30_000,
    requestTimeoutMs: 0,
    keepAliveTimeoutMs: 65_000,
    maxConnections: 10_000,
  });
  assert.equal(routes[0]?.rateLimit, undefined);
  assert.equal(routes[0]?.maxRequestBodyBytes, undefined);
});

test('route rate_limit and max_request_body (bytes or a size with a unit)', () => {
  const text = `${BASE}    rate_limit: { requests: 10, per: 1s, key: user }\n    max_request_body: 10MiB\n`;
  const route = load(text).routes[0]!;
  assert.deepEqual(route.rateLimit, { requests: 10, perMs: 1000, key: 'user' });
  assert.equal(route.maxRequestBodyBytes, 10 * 1024 * 1024);
  assert.equal(parseSize(2048), 2048);
  assert.equal(parseSize('2KB'), 2000);
});

test('limits that cannot work are refused with their location; requests: 0 turns a sign-in limit off', () => {
  assert.throws(() => load(`${BASE}    max_request_body: 10 MB\n`), /routes\.0\.max_request_body/);
  assert.throws(() => load(`${BASE}    rate_limit: { requests: 10, per: 0s, key: ip }\n`), /rate_limit\.per.*must be longer than 0|must be longer than 0/);
  assert.throws(() => load(`${BASE}limits:\n  headers_timeout: 0s\n`), /vallum.yaml:13:\d+: must be longer than 0: a client could hold a connection forever/);
  assert.throws(() => load(`${BASE}limits:\n  headers_timeout: 30s\n  request_timeout: 10s\n`), /at least headers_timeout/);
  assert.equal(load(`${BASE}limits:\n  sign_in: { requests: 0, per: 1m }\n`).limits.signIn, undefined);
});

/** Two routes, the first rate limited, and a sign-in limit: what `vallum --workers` divides. */
const SHARED = `limits:\n  sign_in: { requests: 5, per: 1m }\n${BASE}    rate_limit: { requests: 10, per: 1s, key: user }
  - from: http://other.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
`;

test('each of N workers gets 1/N of every rate limit (rounded up, at least 1); the rest of the config is kept', () => {
  const config = load(SHARED);
  const shared = shareRateLimits(config, 2);
  assert.deepEqual(shared.routes[0]?.rateLimit, { requests: 5, perMs: 1000, key: 'user' });
  assert.equal(shared.routes[1], config.routes[1]);
  assert.deepEqual(shared.limits.signIn, { requests: 3, perMs: 60_000 });
  assert.deepEqual(shared.limits.backchannelLogout, { requests: 300, perMs: 60_000 });
  assert.equal(shared.limits.headersTimeoutMs, config.limits.headersTimeoutMs);
  assert.equal(shareRateLimits(config, 64).routes[0]?.rateLimit?.requests, 1);
  assert.equal(shareRateLimits(config, 1), config);
  assert.equal(config.routes[0]?.rateLimit?.requests, 10, 'the loaded config is not changed');
  assert.ok(Object.isFrozen(shared) && Object.isFrozen(shared.routes[0]));
});

test('workers: a number or auto, from the file or VALLUM_WORKERS; anything else is an error naming the setting', () => {
  assert.equal(load(BASE).workers, 1);
  assert.equal(load(`workers: auto\n${BASE}`).workers, 'auto');
  assert.equal(load(`workers: 3\n${BASE}`).workers, 3);
  assert.equal(load(BASE, { VALLUM_WORKERS: '4' }).workers, 4);
  assert.equal(load(BASE, { VALLUM_WORKERS: 'auto' }).workers, 'auto');
  assert.throws(() => load(`workers: 0\n${BASE}`), /workers/);
  assert.throws(() => load(BASE, { VALLUM_WORKERS: 'many' }), /workers/);
});
