// The proxy part of the frozen config view: route matching/rewriting/headers/timeouts/balancing/health/cache/TLS
// and the listener's trusted proxies and certificate, with defaults applied; certificate and key files arrive read.
import { parseRange } from '@vallum/policy';
import type { RawConfig, RawRoute } from './schema.js';
import type { ConfigIssue, ConfigPath } from './config-issues.js';
import { parseDuration } from './parse-values.js';
import type { LB_POLICIES } from './proxy-schema.js';
import { fileText, type FileContents } from './file-contents.js';
import { buildDownstreamMtls, type DownstreamMtlsConfig } from './build-downstream-mtls.js';

export type LbPolicy = (typeof LB_POLICIES)[number];

export interface HealthCheckConfig {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface UpstreamTlsConfig {
  ca: string | undefined;
  skipVerify: boolean;
  cert: string | undefined;
  key: string | undefined;
}

export interface RouteProxyConfig {
  /** Exact normalised path, when the route matches by `path`. */
  path: string | undefined;
  /** Source of an anchored regular expression, when the route matches by `regex`. */
  regex: string | undefined;
  prefixRewrite: string | undefined;
  preserveHostHeader: boolean;
  hostRewrite: string | undefined;
  setRequestHeaders: Readonly<Record<string, string>>;
  /** Lower-cased. */
  removeRequestHeaders: readonly string[];
  setResponseHeaders: Readonly<Record<string, string>>;
  timeoutMs: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  allowWebsockets: boolean;
  /** A tcp route's tunnel is closed after this long without a byte either way. */
  tcpIdleTimeoutMs: number;
  /** HTTP/1.1, HTTP/2 without TLS (prior knowledge), or HTTP/2 over TLS to the upstream. */
  upstreamProtocol: 'http1' | 'h2c' | 'h2';
  /** 400 for any path a back end could read as another (encoded slash or backslash, backslash, `;`). */
  rejectAmbiguousPaths: boolean;
  /** One weight per `to` entry. */
  weights: readonly number[];
  lbPolicy: LbPolicy;
  lbHash: { header: string } | { cookie: string } | undefined;
  healthCheck: HealthCheckConfig | undefined;
  outlier: { consecutiveErrors: number; ejectionMs: number };
  cacheMaxBytes: number | undefined;
  upstreamTls: UpstreamTlsConfig;
  /** As written: undefined means what downstream_mtls.enforcement says (see clientCertificateRequired). */
  requireClientCertificate: boolean | undefined;
}

/** Proxy settings made once at the top level and carried by every route, whose upstreams are built per route. */
export interface SharedRouteProxyConfig {
  /** How long an upstream host name's addresses are used before it is resolved again. */
  upstreamDnsTtlMs: number;
}

export interface ListenerConfig {
  trustedProxies: readonly string[];
  /** PEM certificate and key of an https listener. */
  tls: { cert: string; key: string } | undefined;
  /** Client certificates on the https listener; undefined when none are asked for. */
  downstreamMtls: DownstreamMtlsConfig | undefined;
}

/** `http://h:1,3` → the URL and its weight 3 (Pomerium's form); no weight means 1. */
export function splitWeight(value: string): { url: string; weight: number } | { error: string } {
  const m = /^(.*),\s*(\d+)$/.exec(value);
  if (!m) return { url: value, weight: 1 };
  const weight = Number(m[2]);
  if (weight < 1 || weight > 1000) return { error: `weight must be 1..1000, got ${m[2]}` };
  return { url: m[1]!, weight };
}

export function buildRouteProxy(r: RawRoute, index: number, weights: number[], files: FileContents, issues: ConfigIssue[]): RouteProxyConfig {
  const at = (...rest: Array<string | number>): ConfigPath => ['routes', index, ...rest];
  const matchers = [r.prefix !== undefined, r.path !== undefined, r.regex !== undefined].filter(Boolean).length;
  if (matchers > 1) issues.push({ path: at(), message: 'use only one of prefix, path and regex' });
  if (r.regex !== undefined) {
    try {
      new RegExp(`^(?:${r.regex})$`);
    } catch (err) {
      issues.push({ path: at('regex'), message: `invalid regular expression: ${(err as Error).message}` });
    }
  }
  if (r.preserve_host_header && r.host_rewrite) issues.push({ path: at('host_rewrite'), message: 'host_rewrite and preserve_host_header exclude each other' });
  if (r.lb_policy === 'ring_hash' && !r.lb_hash) issues.push({ path: at('lb_policy'), message: "ring_hash needs 'lb_hash: {header: ...}' or '{cookie: ...}'" });
  if (r.upstream_protocol !== undefined && r.upstream_protocol !== 'http1') {
    const scheme = r.upstream_protocol === 'h2c' ? 'http:' : 'https:';
    const tos = Array.isArray(r.to) ? r.to : [r.to];
    if (tos.some((to) => typeof to === 'string' && !to.toLowerCase().startsWith(`${scheme}//`))) {
      issues.push({ path: at('upstream_protocol'), message: `${r.upstream_protocol} needs ${scheme}// upstreams in to` });
    }
    if (r.allow_websockets) issues.push({ path: at('allow_websockets'), message: `WebSockets need upstream_protocol http1, not ${r.upstream_protocol}` });
  }
  const file = (key: 'tls_custom_ca_file' | 'tls_client_cert_file' | 'tls_client_key_file') => {
    const name = r[key];
    if (name === undefined) return undefined;
    const text = fileText(files, name);
    if (!(text instanceof Error)) return text;
    issues.push({ path: at(key), message: `cannot read ${name}: ${text.message}` });
    return undefined;
  };
  if ((r.tls_client_cert_file === undefined) !== (r.tls_client_key_file === undefined)) {
    issues.push({
      path: at(r.tls_client_cert_file ? 'tls_client_cert_file' : 'tls_client_key_file'),
      message: 'tls_client_cert_file and tls_client_key_file go together',
    });
  }
  const hc = r.health_check;
  return {
    path: r.path,
    regex: r.regex,
    prefixRewrite: r.prefix_rewrite,
    preserveHostHeader: r.preserve_host_header ?? false,
    hostRewrite: r.host_rewrite,
    setRequestHeaders: { ...r.set_request_headers },
    removeRequestHeaders: (r.remove_request_headers ?? []).map((h) => h.toLowerCase()),
    setResponseHeaders: { ...r.set_response_headers },
    timeoutMs: parseDuration(r.timeout ?? '30s'),
    idleTimeoutMs: parseDuration(r.idle_timeout ?? '5m'),
    connectTimeoutMs: parseDuration(r.connect_timeout ?? '10s'),
    allowWebsockets: r.allow_websockets ?? false,
    tcpIdleTimeoutMs: parseDuration(r.tcp_idle_timeout ?? '10m'),
    upstreamProtocol: r.upstream_protocol ?? 'http1',
    rejectAmbiguousPaths: r.reject_ambiguous_paths ?? false,
    weights,
    lbPolicy: r.lb_policy ?? 'round_robin',
    lbHash: r.lb_hash,
    healthCheck: hc && {
      path: hc.path,
      intervalMs: parseDuration(hc.interval ?? '10s'),
      timeoutMs: parseDuration(hc.timeout ?? '2s'),
      healthyThreshold: hc.healthy_threshold ?? 2,
      unhealthyThreshold: hc.unhealthy_threshold ?? 2,
    },
    outlier: {
      consecutiveErrors: r.outlier_detection?.consecutive_errors ?? 5,
      ejectionMs: parseDuration(r.outlier_detection?.ejection_time ?? '2s'),
    },
    cacheMaxBytes: r.cache?.max_bytes,
    upstreamTls: {
      ca: file('tls_custom_ca_file'),
      skipVerify: r.tls_skip_verify ?? false,
      cert: file('tls_client_cert_file'),
      key: file('tls_client_key_file'),
    },
    requireClientCertificate: r.require_client_certificate,
  };
}

export function buildSharedRouteProxy(raw: RawConfig, issues: ConfigIssue[]): SharedRouteProxyConfig {
  const upstreamDnsTtlMs = parseDuration(raw.upstream_dns_ttl ?? '30s');
  if (upstreamDnsTtlMs === 0) issues.push({ path: ['upstream_dns_ttl'], message: 'must be longer than 0' });
  return { upstreamDnsTtlMs };
}

export function buildListener(raw: RawConfig, files: FileContents, issues: ConfigIssue[]): ListenerConfig {
  const trustedProxies = raw.trusted_proxies ?? [];
  trustedProxies.forEach((cidr, i) => {
    if (!parseRange(cidr)) {
      issues.push({ path: ['trusted_proxies', i], message: `expected an IP address or CIDR like 10.0.0.0/8, got '${cidr}'` });
    }
  });
  let tls: ListenerConfig['tls'];
  if ((raw.certificate_file === undefined) !== (raw.key_file === undefined)) {
    issues.push({ path: [raw.certificate_file ? 'certificate_file' : 'key_file'], message: 'certificate_file and key_file go together' });
  } else if (raw.certificate_file && raw.key_file) {
    const cert = fileText(files, raw.certificate_file);
    const key = fileText(files, raw.key_file);
    if (cert instanceof Error || key instanceof Error) {
      issues.push({ path: ['certificate_file'], message: `cannot read the listener certificate: ${(cert instanceof Error ? cert : (key as Error)).message}` });
    } else tls = { cert, key };
  }
  return { trustedProxies, tls, downstreamMtls: buildDownstreamMtls(raw, files, issues) };
}
