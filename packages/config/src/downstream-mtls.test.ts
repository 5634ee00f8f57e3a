import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText, ConfigError, clientCertificateRequired, type VallumConfig } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'vallum-mtls-config-'));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'];
openssl('req', '-x509', ...newKey, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-subj', '/CN=ca', '-addext', 'basicConstraints=critical,CA:TRUE');
openssl('req', '-x509', ...newKey, '-keyout', file('leaf.key'), '-out', file('leaf.crt'), '-subj', '/CN=leaf', '-addext', 'basicConstraints=critical,CA:FALSE');
writeFileSync(file('junk.pem'), 'not a certificate\n');

const config = (
  mtls: string,
  route = '',
  listener = `certificate_file: ${file('leaf.crt')}\nkey_file: ${file('leaf.key')}`,
) => `authenticate_service_url: https://authenticate.example.com
idp: { issuer: "https://idp.example.com", client_id: vallum, client_secret: s }
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
${listener}
${mtls}
routes:
  - from: https://app.example.com
    to: https://127.0.0.1:9
    allow_any_authenticated_user: true
${route}`;

function problems(text: string): string[] {
  try {
    loadConfigText(text, 'vallum.yaml', { env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.location}: ${i.message}`);
  }
  return [];
}
const load = (text: string): VallumConfig => loadConfigText(text, 'vallum.yaml', { env: {} });

test('downstream_mtls: defaults, and which routes require a certificate under each enforcement', () => {
  const mtls = load(config(`downstream_mtls: { ca_file: ${file('ca.crt')} }`, '    require_client_certificate: false')).downstreamMtls!;
  assert.equal(mtls.enforcement, 'policy_with_default_deny');
  assert.equal(mtls.maxVerifyDepth, 1);
  assert.equal(mtls.fingerprintHeader, 'x-vallum-client-cert-fingerprint');
  assert.equal(mtls.crl, undefined);
  const route = (required: boolean | undefined) => ({ requireClientCertificate: required });
  for (const [enforcement, unset, yes, no] of [
    ['policy', false, true, false],
    ['policy_with_default_deny', true, true, false],
    ['reject_connection', true, true, true],
  ] as const) {
    const m = { ...mtls, enforcement };
    assert.deepEqual(
      [route(undefined), route(true), route(false)].map((r) => clientCertificateRequired(r, m)),
      [unset, yes, no],
      enforcement,
    );
  }
  assert.equal(clientCertificateRequired(route(true), undefined), false);
  const reloaded = load(config(`downstream_mtls: { ca_file: ${file('ca.crt')} }`)).reloadSources;
  assert.ok(reloaded.includes(file('ca.crt')), 'a renewed CA (or CRL) file reloads the config');
});

test('downstream_mtls: every mistake is reported with its place', () => {
  assert.match(
    problems(config(`downstream_mtls: { ca_file: ${file('ca.crt')} }`, '', ''))[0]!,
    /downstream_mtls needs the https listener: set certificate_file and key_file/,
  );
  assert.match(problems(config(`downstream_mtls: { ca_file: ${file('missing.crt')} }`))[0]!, /vallum\.yaml:7:\d+: cannot read .*missing\.crt: ENOENT/);
  assert.match(problems(config(`downstream_mtls: { ca_file: ${file('junk.pem')} }`))[0]!, /ca_file: no PEM certificate/);
  assert.match(problems(config(`downstream_mtls: { ca_file: ${file('leaf.crt')} }`))[0]!, /ca_file: certificate 1 \(CN=leaf\) is not a CA certificate/);
  assert.match(problems(config(`downstream_mtls: { ca_file: ${file('ca.crt')}, crl_file: ${file('junk.pem')} }`))[0]!, /crl_file: no PEM CRL/);
  assert.match(
    problems(config(`downstream_mtls: { ca_file: ${file('ca.crt')}, enforcement: strict }`))[0]!,
    /expected one of policy, policy_with_default_deny, reject_connection/,
  );
  assert.match(problems(config(`downstream_mtls: { ca_file: ${file('ca.crt')}, max_verify_depth: -1 }`))[0]!, /max_verify_depth/);
  assert.match(
    problems(config(`downstream_mtls: { ca_file: ${file('ca.crt')}, fingerprint_header: X-Vallum-Claim-Email }`))[0]!,
    /cannot carry the fingerprint/,
  );
  assert.match(problems(config(`downstream_mtls: { ca_fil: ${file('ca.crt')} }`)).join('\n'), /unknown key 'ca_fil' \(did you mean 'ca_file'\?\)/);
  assert.match(problems(config('', '    require_client_certificate: true'))[0]!, /require_client_certificate needs downstream_mtls/);
  assert.match(
    problems(config(`downstream_mtls: { ca_file: ${file('ca.crt')}, enforcement: reject_connection }`, '    require_client_certificate: false'))[0]!,
    /require_client_certificate: false cannot apply/,
  );
});
