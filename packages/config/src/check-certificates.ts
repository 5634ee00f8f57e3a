// The listener's and the upstreams' certificate/key pairs, loaded as start and reload load them, so `vallum validate`
// refuses a PEM Node's TLS cannot read or a key that does not match its certificate; and the client-certificate CA
// and CRL of downstream_mtls, which Node's TLS would take silently (a CA it cannot parse is just left out).
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { VallumConfig } from './build-config.js';
import type { ConfigIssue } from './config-issues.js';

export function certificateIssues(config: VallumConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (config.tls) {
    const problem = tlsProblem(config.tls);
    if (problem) issues.push({ path: ['certificate_file'], message: `certificate_file/key_file: ${problem}` });
  }
  if (config.downstreamMtls) issues.push(...downstreamMtlsIssues(config.downstreamMtls));
  for (const route of config.routes) {
    const { cert, key } = route.upstreamTls;
    const problem = cert !== undefined && key !== undefined && tlsProblem({ cert, key });
    if (problem)
      issues.push({ path: [...route.policyPath.slice(0, 2), 'tls_client_cert_file'], message: `tls_client_cert_file/tls_client_key_file: ${problem}` });
  }
  return issues;
}

function tlsProblem(pems: { cert: string; key: string }): string | undefined {
  try {
    createSecureContext(pems);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function downstreamMtlsIssues(mtls: NonNullable<VallumConfig['downstreamMtls']>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const blocks = mtls.caCertificates;
  if (blocks.length === 0) issues.push({ path: ['downstream_mtls', 'ca_file'], message: 'ca_file: no PEM certificate (-----BEGIN CERTIFICATE-----) in it' });
  blocks.forEach((pem, i) => {
    try {
      const cert = new X509Certificate(pem);
      if (!cert.ca)
        issues.push({
          path: ['downstream_mtls', 'ca_file'],
          message: `ca_file: certificate ${i + 1} (${cert.subject.replaceAll('\n', ', ')}) is not a CA certificate`,
        });
    } catch (err) {
      issues.push({ path: ['downstream_mtls', 'ca_file'], message: `ca_file: certificate ${i + 1} cannot be read: ${(err as Error).message}` });
    }
  });
  if (mtls.crl !== undefined) {
    try {
      createSecureContext({ ca: mtls.ca, crl: [...mtls.crl] });
    } catch (err) {
      issues.push({ path: ['downstream_mtls', 'crl_file'], message: `crl_file: ${(err as Error).message}` });
    }
  }
  return issues;
}
