// Client certificates on the https listener (`downstream_mtls`): the CA and CRL as read, the enforcement mode and
// the chain depth, and which routes may say otherwise. Certificates and CRLs are parsed in check-certificates.ts.
import type { RawConfig } from './schema.js';
import type { ConfigIssue } from './config-issues.js';
import type { DOWNSTREAM_MTLS_ENFORCEMENTS } from './proxy-schema.js';
import { fileText, type FileContents } from './file-contents.js';
import { RESERVED_HEADER } from './reserved-headers.js';

export type DownstreamMtlsEnforcement = (typeof DOWNSTREAM_MTLS_ENFORCEMENTS)[number];

export interface DownstreamMtlsConfig {
  /** PEM CA certificates that issue the accepted client certificates, as the file holds them (Node's `ca`). */
  ca: string;
  /** The same, one PEM certificate each. */
  caCertificates: readonly string[];
  /** PEM CRLs, one per entry (Node reads one CRL from each); a certificate listed in one is refused. */
  crl: readonly string[] | undefined;
  enforcement: DownstreamMtlsEnforcement;
  /** Longest accepted chain below a CA in `ca` (1: issued by it directly); 0 means no limit. */
  maxVerifyDepth: number;
  /** Lower-cased name of the request header that carries the fingerprint upstream. */
  fingerprintHeader: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g;
const PEM_CRL = /-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----\n?/g;

export const DEFAULT_FINGERPRINT_HEADER = 'x-vallum-client-cert-fingerprint';

export function buildDownstreamMtls(raw: RawConfig, files: FileContents, issues: ConfigIssue[]): DownstreamMtlsConfig | undefined {
  routeRequirementIssues(raw, issues);
  const m = raw.downstream_mtls;
  if (m === undefined) return undefined;
  if (raw.certificate_file === undefined) {
    issues.push({ path: ['downstream_mtls'], atKey: true, message: 'downstream_mtls needs the https listener: set certificate_file and key_file' });
  }
  const read = (key: 'ca_file' | 'crl_file', name: string) => {
    const text = fileText(files, name);
    if (!(text instanceof Error)) return text;
    issues.push({ path: ['downstream_mtls', key], message: `cannot read ${name}: ${text.message}` });
    return undefined;
  };
  const ca = read('ca_file', m.ca_file);
  const crlText = m.crl_file === undefined ? undefined : read('crl_file', m.crl_file);
  const crl = crlText?.match(PEM_CRL) ?? undefined;
  if (crlText !== undefined && crl === undefined) {
    issues.push({ path: ['downstream_mtls', 'crl_file'], message: 'crl_file: no PEM CRL (-----BEGIN X509 CRL-----) in it' });
  }
  const header = (m.fingerprint_header ?? DEFAULT_FINGERPRINT_HEADER).toLowerCase();
  if (RESERVED_HEADER.test(header) && !header.startsWith('x-vallum-client-cert-')) {
    issues.push({
      path: ['downstream_mtls', 'fingerprint_header'],
      message: `'${m.fingerprint_header}' cannot carry the fingerprint: Vallum or HTTP itself sets it`,
    });
  } else if (raw.jwt_claims_headers && Object.keys(raw.jwt_claims_headers).some((name) => name.toLowerCase() === header)) {
    issues.push({ path: ['downstream_mtls', 'fingerprint_header'], message: `'${m.fingerprint_header}' is a jwt_claims_headers header already` });
  }
  if (ca === undefined) return undefined;
  return {
    ca,
    caCertificates: ca.match(PEM_CERTIFICATE) ?? [],
    crl,
    enforcement: m.enforcement ?? 'policy_with_default_deny',
    maxVerifyDepth: m.max_verify_depth ?? 1,
    fingerprintHeader: header,
  };
}

/** A route's require_client_certificate means nothing without downstream_mtls, and false nothing under reject_connection. */
function routeRequirementIssues(raw: RawConfig, issues: ConfigIssue[]): void {
  raw.routes.forEach((r, index) => {
    const required = r.require_client_certificate;
    if (required === undefined) return;
    const path = ['routes', index, 'require_client_certificate'];
    if (raw.downstream_mtls === undefined) issues.push({ path, message: 'require_client_certificate needs downstream_mtls (a CA for client certificates)' });
    else if (!required && raw.downstream_mtls.enforcement === 'reject_connection')
      issues.push({
        path,
        message: 'require_client_certificate: false cannot apply: downstream_mtls.enforcement reject_connection refuses the connection first',
      });
  });
}
