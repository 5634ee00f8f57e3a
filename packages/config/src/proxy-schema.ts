// Route and top-level keys of the reverse-proxy core (matching, rewriting, headers, timeouts, load balancing, health,
// caching, upstream TLS and DNS, the listener). Spread into RouteSchema / ConfigSchema so the one schema stays the
// source of truth.
import { Type } from '@sinclair/typebox';
import { DURATION_PATTERN } from './parse-values.js';

const Duration = (description: string) => Type.String({ pattern: DURATION_PATTERN, description: `${description}, e.g. 500ms, 30s, 5m` });
const HeaderMap = (description: string) => Type.Record(Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), Type.String(), { description });

export const LB_POLICIES = ['round_robin', 'least_request', 'random', 'ring_hash'] as const;
export const DOWNSTREAM_MTLS_ENFORCEMENTS = ['policy', 'policy_with_default_deny', 'reject_connection'] as const;

export const ProxyRouteKeys = {
  path: Type.Optional(Type.String({ pattern: '^/', description: 'Only requests whose normalised path is exactly this' })),
  regex: Type.Optional(Type.String({ minLength: 1, description: 'Only requests whose normalised path matches this regular expression (anchored)' })),
  prefix_rewrite: Type.Optional(Type.String({ pattern: '^/', description: 'Replaces the matched prefix before forwarding' })),
  preserve_host_header: Type.Optional(Type.Boolean({ description: "Send the client's Host to the upstream instead of the upstream's" })),
  host_rewrite: Type.Optional(Type.String({ minLength: 1, description: 'Host header sent to the upstream' })),
  set_request_headers: Type.Optional(HeaderMap('Headers set on the request to the upstream')),
  remove_request_headers: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Headers removed from the request to the upstream' })),
  set_response_headers: Type.Optional(HeaderMap('Headers set on the response to the client')),
  timeout: Type.Optional(Duration('Time allowed until the upstream sends response headers (default 30s)')),
  idle_timeout: Type.Optional(Duration('Time allowed between two body chunks (default 5m)')),
  connect_timeout: Type.Optional(Duration('Time allowed to connect to the upstream (default 10s)')),
  reject_ambiguous_paths: Type.Optional(
    Type.Boolean({ description: 'Answer 400 to any path with an encoded slash or backslash (%2F, %5C), a backslash or a ";" parameter' }),
  ),
  allow_websockets: Type.Optional(Type.Boolean({ description: 'Allow WebSocket (and other HTTP/1.1) upgrades' })),
  tcp_idle_timeout: Type.Optional(Duration('tcp routes: a tunnel with no bytes either way for this long is closed, both sides (default 10m)')),
  upstream_protocol: Type.Optional(
    Type.Union([Type.Literal('http1'), Type.Literal('h2c'), Type.Literal('h2')], {
      description: 'How Vallum speaks to the upstream: http1 (default), h2c (HTTP/2 without TLS, prior knowledge; gRPC) or h2 (HTTP/2 over TLS)',
    }),
  ),
  lb_policy: Type.Optional(
    Type.Union(
      LB_POLICIES.map((p) => Type.Literal(p)),
      { description: 'How a request picks one of several `to` (default round_robin)' },
    ),
  ),
  lb_hash: Type.Optional(
    Type.Union(
      [
        Type.Object({ header: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
        Type.Object({ cookie: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
      ],
      { description: 'ring_hash key: a request header or a cookie' },
    ),
  ),
  health_check: Type.Optional(
    Type.Object(
      {
        path: Type.String({ pattern: '^/' }),
        interval: Type.Optional(Duration('Time between probes (default 10s)')),
        timeout: Type.Optional(Duration('Probe timeout (default 2s)')),
        healthy_threshold: Type.Optional(Type.Integer({ minimum: 1 })),
        unhealthy_threshold: Type.Optional(Type.Integer({ minimum: 1 })),
      },
      { additionalProperties: false, description: 'Active HTTP health check of every upstream' },
    ),
  ),
  outlier_detection: Type.Optional(
    Type.Object(
      {
        consecutive_errors: Type.Optional(Type.Integer({ minimum: 1, description: 'Connect errors or 5xx in a row before ejection (default 5)' })),
        ejection_time: Type.Optional(Duration('Longest wait between probes of an ejected upstream: 250ms after ejection, doubling up to this (default 2s)')),
      },
      { additionalProperties: false },
    ),
  ),
  cache: Type.Optional(Type.Object({ max_bytes: Type.Integer({ minimum: 1 }) }, { additionalProperties: false, description: 'Shared HTTP response cache' })),
  tls_custom_ca_file: Type.Optional(Type.String({ minLength: 1 })),
  tls_skip_verify: Type.Optional(Type.Boolean()),
  tls_client_cert_file: Type.Optional(Type.String({ minLength: 1 })),
  tls_client_key_file: Type.Optional(Type.String({ minLength: 1 })),
  require_client_certificate: Type.Optional(
    Type.Boolean({
      description:
        'Refuse requests without a verified client certificate (495) before sign-in; default: true under downstream_mtls enforcement policy_with_default_deny, false under policy',
    }),
  ),
};

export const ProxyGlobalKeys = {
  upstream_dns_ttl: Type.Optional(Duration("How long an upstream host name's addresses are used before it is resolved again (default 30s)")),
  trusted_proxies: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'CIDRs whose X-Forwarded-For is kept' })),
  certificate_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate (chain) of the https listener' })),
  key_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of the https listener' })),
  downstream_mtls: Type.Optional(
    Type.Object(
      {
        ca_file: Type.String({ minLength: 1, description: 'PEM CA certificate(s) that issue the accepted client certificates' }),
        crl_file: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate revocation list(s), one for each CA in ca_file' })),
        enforcement: Type.Optional(
          Type.Union(
            DOWNSTREAM_MTLS_ENFORCEMENTS.map((e) => Type.Literal(e)),
            {
              description:
                'policy: a certificate is optional, routes and policies may require one; policy_with_default_deny (default): every route requires one unless it sets require_client_certificate: false; reject_connection: the TLS handshake fails without one',
            },
          ),
        ),
        max_verify_depth: Type.Optional(
          Type.Integer({ minimum: 0, description: 'Longest accepted chain below a CA in ca_file: 1 (default) = issued by that CA directly; 0 = no limit' }),
        ),
        fingerprint_header: Type.Optional(
          Type.String({
            pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
            description:
              "Request header that carries the verified certificate's SHA-256 fingerprint to the upstream (default X-Vallum-Client-Cert-Fingerprint)",
          }),
        ),
      },
      { additionalProperties: false, description: 'Client certificates (mTLS) on the https listener' },
    ),
  ),
};
