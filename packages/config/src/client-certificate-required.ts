// Whether a route refuses requests without a verified client certificate, from the route and downstream_mtls.
import type { DownstreamMtlsConfig } from './build-downstream-mtls.js';
import type { RouteProxyConfig } from './build-proxy.js';

export function clientCertificateRequired(route: Pick<RouteProxyConfig, 'requireClientCertificate'>, mtls: DownstreamMtlsConfig | undefined): boolean {
  if (mtls === undefined) return false;
  if (mtls.enforcement === 'reject_connection') return true;
  return route.requireClientCertificate ?? mtls.enforcement === 'policy_with_default_deny';
}
