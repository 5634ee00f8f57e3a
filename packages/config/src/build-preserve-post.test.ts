import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from './index.js';

const BASE = `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: https://127.0.0.1:8010, client_id: vallum, client_secret: secret }
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
`;
const ROUTE = `routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
`;
const load = (text: string) => loadConfigText(text, 'vallum.yaml', { env: {} });

test('preserve_post: 64 KiB unless set; false turns it off; a route may set its own', () => {
  assert.equal(load(BASE + ROUTE).preservePostMaxBytes, 65_536);
  assert.equal(load(BASE + ROUTE).routes[0]?.preservePostMaxBytes, undefined);
  assert.equal(load(`${BASE}preserve_post: false\n${ROUTE}`).preservePostMaxBytes, 0);
  assert.equal(load(`${BASE}preserve_post: { max_bytes: 16KiB }\n${ROUTE}`).preservePostMaxBytes, 16_384);
  assert.equal(load(`${BASE}${ROUTE}    preserve_post: { max_bytes: 1000 }\n`).routes[0]?.preservePostMaxBytes, 1000);
  assert.equal(load(`${BASE}${ROUTE}    preserve_post: false\n`).routes[0]?.preservePostMaxBytes, 0);
});

test('preserve_post limits that cannot work are refused with their location', () => {
  assert.throws(() => load(`${BASE}preserve_post: { max_bytes: 2MiB }\n${ROUTE}`), /vallum\.yaml:5:\d+: must be between 1 byte and 1MiB/);
  assert.throws(() => load(`${BASE}preserve_post: true\n${ROUTE}`), /preserve_post/);
  assert.throws(() => load(`${BASE}preserve_post: { max_byte: 10 }\n${ROUTE}`), /preserve_post/);
});
