import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
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
const load = (extra: string, env: Record<string, string> = {}) => loadConfigText(`${BASE}${extra}`, 'vallum.yaml', { env });
const issuesOf = (extra: string, env: Record<string, string> = {}): string[] => {
  try {
    load(extra, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.location}: ${i.message}`);
  }
  assert.fail('expected the config to be refused');
};

test('previous secrets come from the file, their _files and comma-separated environment variables', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-previous-'));
  writeFileSync(join(dir, 'old-cookie'), `${'d'.repeat(32)}\n`);
  const config = load(`previous_cookie_secrets: ["${'c'.repeat(32)}"]\nprevious_cookie_secret_files: [${join(dir, 'old-cookie')}]\n`);
  assert.deepEqual(config.previousCookieSecrets, ['c'.repeat(32), 'd'.repeat(32)]);
  assert.deepEqual(config.previousSharedSecrets, []);
  const fromEnv = load('', { VALLUM_PREVIOUS_SHARED_SECRETS: `${'e'.repeat(32)}, ${'f'.repeat(32)}` });
  assert.deepEqual(fromEnv.previousSharedSecrets, ['e'.repeat(32), 'f'.repeat(32)]);
});

test('while shared_secret keys IdP tokens at rest, its previous secrets still open them', () => {
  const old = 'e'.repeat(32);
  assert.deepEqual(load(`previous_shared_secrets: ["${old}"]\n`).previousTokenEncryptionSecrets, [old]);
  const own = load(`token_encryption_key: ${'k'.repeat(32)}\nprevious_token_encryption_keys: ["${'j'.repeat(32)}"]\nprevious_shared_secrets: ["${old}"]\n`);
  assert.deepEqual(own.previousTokenEncryptionSecrets, ['j'.repeat(32)]);
});

test('a previous secret must be as strong as a current one and must not be the current one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-previous-'));
  writeFileSync(join(dir, 'short'), 'short\n');
  const issues = issuesOf(`previous_shared_secrets: ["${'a'.repeat(32)}"]\nprevious_token_encryption_key_files: [${join(dir, 'short')}]\n`);
  assert.ok(
    issues.some((i) => /previous_shared_secrets.*must not hold the current shared_secret/.test(i)),
    issues.join('\n'),
  );
  const inline = issuesOf('previous_cookie_secrets: [short]\n');
  assert.ok(
    inline.some((i) => i.includes('previous_cookie_secrets') && i.includes('32')),
    inline.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.includes(join(dir, 'short')) && i.includes('at least 32')),
    issues.join('\n'),
  );
  const envIssues = issuesOf('', { VALLUM_PREVIOUS_COOKIE_SECRETS: 'b'.repeat(32) });
  assert.ok(
    envIssues.some((i) => i.includes('must not hold the current cookie_secret')),
    envIssues.join('\n'),
  );
});

test('previous signing keys must differ from signing_key', () => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const dir = mkdtempSync(join(tmpdir(), 'vallum-previous-'));
  writeFileSync(join(dir, 'key.pem'), pem);
  const issues = issuesOf(`signing_key_file: ${join(dir, 'key.pem')}\nprevious_signing_key_files: [${join(dir, 'key.pem')}]\n`);
  assert.ok(
    issues.some((i) => i.includes('previous_signing_key_files') && i.includes('must not hold the current signing_key')),
    issues.join('\n'),
  );
});

test('a signing key, current or previous, that cannot sign ES256 is refused with its setting', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const dir = mkdtempSync(join(tmpdir(), 'vallum-previous-'));
  writeFileSync(join(dir, 'rsa.pem'), rsa);
  writeFileSync(join(dir, 'junk.pem'), 'not a key at all');
  const issues = issuesOf(`signing_key_file: ${join(dir, 'junk.pem')}\nprevious_signing_key_files: [${join(dir, 'rsa.pem')}]\n`);
  assert.ok(
    issues.some((i) => i.includes('signing_key_file') && i.includes('not a PEM private key')),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.includes('previous_signing_key_files: not a P-256')),
    issues.join('\n'),
  );
});
