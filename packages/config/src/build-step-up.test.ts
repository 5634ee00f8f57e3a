import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from './index.js';

const BASE = `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: https://127.0.0.1:8010, client_id: vallum, client_secret: secret }
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:8020
`;
const load = (route: string) => loadConfigText(`${BASE}${route}`, 'vallum.yaml', { env: {} });

test('route max_session_age (a duration) and acr_values; none by default', () => {
  const plain = load('    allow_any_authenticated_user: true\n').routes[0]!;
  assert.equal(plain.maxSessionAgeMs, undefined);
  assert.equal(plain.acrValues, undefined);
  const route = load('    allow_any_authenticated_user: true\n    max_session_age: 1h30m\n    acr_values: [urn:corp:mfa, urn:corp:hwk]\n').routes[0]!;
  assert.equal(route.maxSessionAgeMs, 5_400_000);
  assert.deepEqual(route.acrValues, ['urn:corp:mfa', 'urn:corp:hwk']);
});

test('step-up settings that cannot work are refused with their location', () => {
  assert.throws(() => load('    allow_any_authenticated_user: true\n    max_session_age: 500ms\n'), /vallum\.yaml:9:\d+: must be at least 1s/);
  assert.throws(() => load('    allow_any_authenticated_user: true\n    max_session_age: soon\n'), /max_session_age/);
  assert.throws(() => load('    allow_any_authenticated_user: true\n    acr_values: []\n'), /acr_values/);
  assert.throws(
    () => load('    allow_public_unauthenticated_access: true\n    acr_values: [urn:corp:mfa]\n'),
    /a public route cannot also have max_session_age or acr_values/,
  );
});
