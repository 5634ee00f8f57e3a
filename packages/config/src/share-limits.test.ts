import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText, shareRateLimits } from './index.js';

const BASE = `authenticate_service_url: http://authenticate.localhost:8000
idp:
  issuer: https://127.0.0.1:8010
  client_id: vallum
  client_secret: secret
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
limits:
  sign_in: { requests: 5, per: 1m }
routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
    rate_limit: { requests: 10, per: 1s, key: user }
  - from: http://other.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
`;

const load = (text: string, env: Record<string, string> = {}) => loadConfigText(text, 'vallum.yaml', { env });

test('each of N workers gets 1/N of every rate limit (rounded up, at least 1); the rest of the config is kept', () => {
  const config = load(BASE);
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
