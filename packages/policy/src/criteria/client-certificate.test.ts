import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientCertificateInfo, compilePolicy, evaluatePolicy, validatePolicy, type ClientCertificateInfo, type Identity } from '../index.js';

const identity: Identity = { sub: 'u1', email: 'ops@example.com', groups: [], claims: {} };
const alice: ClientCertificateInfo = {
  fingerprint: 'ab'.repeat(32),
  spkiHash: `${'A'.repeat(43)}=`,
  sanEmail: ['Alice@Example.com'],
  sanDns: ['Alice.Devices.example.com', 'alice2.devices.example.com'],
  subjectCn: 'alice',
  issuer: 'CN=Example Device CA,O=Example',
};

function decide(matcher: unknown, cert: ClientCertificateInfo | undefined) {
  const request = { method: 'GET', host: 'app.localhost', path: '/', ...(cert ? { clientCertificate: cert } : {}) };
  const decision = evaluatePolicy(compilePolicy({ allow: { or: [{ client_certificate: matcher }] } }), identity, request, 0);
  return { allow: decision.allow, codes: decision.reasons.map((r) => r.code), messages: decision.reasons.map((r) => r.message).join(' ') };
}

test('client_certificate: each matcher, a list means any, every key given must match', () => {
  for (const matcher of [
    { fingerprint: 'AB:'.repeat(31) + 'AB' },
    { fingerprint: ['00'.repeat(32), 'ab'.repeat(32)] },
    { spki_hash: `${'A'.repeat(43)}=` },
    { san_email: 'alice@example.com' },
    { san_dns: ['alice.devices.example.com'] },
    { subject_cn: 'alice' },
    { issuer: 'CN=Example Device CA, O=Example' },
    { issuer: 'CN=Example Device CA,O=Example', san_dns: 'alice2.devices.example.com' },
  ]) {
    assert.deepEqual(decide(matcher, alice).codes, ['client-certificate-ok'], JSON.stringify(matcher));
  }
  for (const matcher of [
    { fingerprint: '00'.repeat(32) },
    { subject_cn: 'Alice' },
    { issuer: 'CN=Someone Else CA' },
    { issuer: 'CN=Example Device CA,O=Example', san_email: 'bob@example.com' },
  ]) {
    const refused = decide(matcher, alice);
    assert.equal(refused.allow, false, JSON.stringify(matcher));
    assert.deepEqual(refused.codes, ['client-certificate-unauthorized', 'no-rule-matched']);
    assert.doesNotMatch(refused.messages, /example|alice|ab/i, 'a refused user is not told what is accepted');
  }
  assert.equal(decide({ subject_cn: 'alice' }, undefined).allow, false, 'no verified certificate matches nothing');
  assert.equal(decide({ subject_cn: 'alice' }, { ...alice, subjectCn: undefined } as never).allow, false);
});

test('client_certificate: malformed matchers are reported where they are written', () => {
  const issues = (matcher: unknown) => validatePolicy({ allow: { or: [{ client_certificate: matcher }] } });
  assert.match(issues({ fingerprint: 'abc' })[0]!.message, /expected a SHA-256 fingerprint \(64 hex digits, colons allowed\), got 'abc'/);
  assert.deepEqual(issues({ fingerprint: ['ab'.repeat(32), 'nope'] })[0]!.path, ['allow', 'or', 0, 'client_certificate', 'fingerprint', 1]);
  assert.match(issues({ spki_hash: 'short' })[0]!.message, /base64 SHA-256 hash of the public key/);
  assert.match(issues({ san_emails: 'a@b.c' })[0]!.message, /unknown key 'san_emails' for client_certificate \(did you mean 'san_email'\?\)/);
  assert.match(issues({})[0]!.message, /client_certificate: expected fingerprint and\/or spki_hash/);
  assert.match(issues({ san_dns: [] })[0]!.message, /non-empty list/);
  assert.match(issues(true)[0]!.message, /client_certificate: expected a mapping/);
});

test('clientCertificateInfo reads the facts of a certificate as openssl states them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-cert-info-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' }).toString().trim();
  openssl(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
    ...['-keyout', join(dir, 'c.key'), '-out', join(dir, 'c.crt'), '-subj', '/C=DE/O=Example, Inc./CN=alice'],
    ...['-addext', 'subjectAltName=email:alice@example.com,DNS:a.example.com,IP:127.0.0.1,DNS:b.example.com'],
  );
  const cert = new X509Certificate(readFileSync(join(dir, 'c.crt')));
  const info = clientCertificateInfo(cert);
  const fingerprint = openssl('x509', '-in', join(dir, 'c.crt'), '-noout', '-fingerprint', '-sha256').split('=')[1]!;
  assert.equal(info.fingerprint, fingerprint.replaceAll(':', '').toLowerCase());
  assert.deepEqual(info.sanEmail, ['alice@example.com']);
  assert.deepEqual(info.sanDns, ['a.example.com', 'b.example.com']);
  assert.equal(info.subjectCn, 'alice');
  assert.equal(info.issuer, openssl('x509', '-in', join(dir, 'c.crt'), '-noout', '-issuer', '-nameopt', 'RFC2253').replace(/^issuer=/, ''));
  assert.equal(info.issuer, 'CN=alice,O=Example\\, Inc.,C=DE');
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  assert.equal(info.spkiHash, createHash('sha256').update(spki).digest('base64'), 'the SPKI read from the DER is the one OpenSSL exports');
});
