import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText, ConfigError } from './index.js';

const BASE = `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "http://127.0.0.1:8010", client_id: vallum, client_secret: secret, allow_insecure_http: true }
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
routes: []
`;

test('IdP tokens are keyed from shared_secret unless token_encryption_key (or its _file, or env) is set', () => {
  assert.equal(loadConfigText(BASE, 'vallum.yaml', { env: {} }).tokenEncryptionSecret, 'a'.repeat(32));
  assert.equal(loadConfigText(`${BASE}token_encryption_key: ${'k'.repeat(32)}\n`, 'vallum.yaml', { env: {} }).tokenEncryptionSecret, 'k'.repeat(32));
  const file = join(mkdtempSync(join(tmpdir(), 'vallum-tek-')), 'key');
  writeFileSync(file, `${'f'.repeat(32)}\n`);
  assert.equal(loadConfigText(`${BASE}token_encryption_key_file: ${file}\n`, 'vallum.yaml', { env: {} }).tokenEncryptionSecret, 'f'.repeat(32));
  assert.equal(loadConfigText(BASE, 'vallum.yaml', { env: { VALLUM_TOKEN_ENCRYPTION_KEY: 'e'.repeat(32) } }).tokenEncryptionSecret, 'e'.repeat(32));
});

test('a short token_encryption_key is refused', () => {
  assert.throws(() => loadConfigText(`${BASE}token_encryption_key: short\n`, 'vallum.yaml', { env: {} }), ConfigError);
});
