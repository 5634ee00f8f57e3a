// The listener's and the upstreams' certificate/key pairs, loaded as start and reload load them, so `vallum validate`
// refuses a PEM Node's TLS cannot read or a key that does not match its certificate.
import { createSecureContext } from 'node:tls';
import type { VallumConfig } from './build-config.js';
import type { ConfigIssue } from './config-issues.js';

export function certificateIssues(config: VallumConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (config.tls) {
    const problem = tlsProblem(config.tls);
    if (problem) issues.push({ path: ['certificate_file'], message: `certificate_file/key_file: ${problem}` });
  }
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
