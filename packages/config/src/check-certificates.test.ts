import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText, ConfigError } from './index.js';

/** A throwaway self-signed certificate and its key, in files. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${name}`, '-days', '1'],
    { stdio: 'pipe' },
  );
  return { cert, key };
}

const config = (tls: string, route = '') => `authenticate_service_url: https://authenticate.example.com
idp: { issuer: "https://idp.example.com", client_id: vallum, client_secret: s }
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
${tls}
routes:
  - from: https://app.example.com
    to: https://127.0.0.1:9
    allow_any_authenticated_user: true
${route}`;

function issuesOf(text: string): string[] {
  try {
    loadConfigText(text, 'vallum.yaml', { env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.location}: ${i.message}`);
  }
  return [];
}

test('a certificate and key start could not load are refused when loading: the listener and an upstream client pair', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-cert-'));
  const a = selfSigned(dir, 'a');
  const b = selfSigned(dir, 'b');
  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, 'not a certificate\n');
  assert.deepEqual(
    issuesOf(config(`certificate_file: ${a.cert}\nkey_file: ${a.key}`, `    tls_client_cert_file: ${b.cert}\n    tls_client_key_file: ${b.key}\n`)),
    [],
  );

  const mismatched = issuesOf(config(`certificate_file: ${a.cert}\nkey_file: ${b.key}`));
  assert.equal(mismatched.length, 1);
  assert.match(mismatched[0]!, /^vallum\.yaml:5:19: certificate_file\/key_file: .*key values mismatch/);

  const unreadable = issuesOf(
    config(`certificate_file: ${garbage}\nkey_file: ${a.key}`, `    tls_client_cert_file: ${b.cert}\n    tls_client_key_file: ${garbage}\n`),
  );
  assert.equal(unreadable.length, 2, unreadable.join('\n'));
  assert.match(unreadable[0]!, /^vallum\.yaml:5:19: certificate_file\/key_file: /);
  assert.match(unreadable[1]!, /^vallum\.yaml:11:27: tls_client_cert_file\/tls_client_key_file: /);
});
