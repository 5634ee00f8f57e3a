// The limits part of the frozen config view: per-route rate limit and body size, and the top-level `limits` block
// with defaults applied.
import type { RawConfig, RawRoute } from './schema.js';
import type { ConfigIssue } from './config-issues.js';
import { parseDuration, parseSize } from './parse-values.js';

export interface RateLimitConfig {
  requests: number;
  perMs: number;
}

export interface RouteLimitConfig {
  rateLimit: (RateLimitConfig & { key: 'user' | 'ip' }) | undefined;
  /** Bytes; undefined = no limit. */
  maxRequestBodyBytes: number | undefined;
}

export interface LimitsConfig {
  /** Per client address, for each of /.vallum/sign_in and the IdP callback; undefined = off. */
  signIn: RateLimitConfig | undefined;
  backchannelLogout: RateLimitConfig | undefined;
  headersTimeoutMs: number;
  /** 0 = no limit. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

export function buildRouteLimits(r: RawRoute, index: number, issues: ConfigIssue[]): RouteLimitConfig {
  const rate = r.rate_limit;
  const perMs = rate ? parseDuration(rate.per) : 0;
  if (rate && perMs === 0) issues.push({ path: ['routes', index, 'rate_limit', 'per'], message: 'must be longer than 0' });
  return {
    rateLimit: rate && perMs > 0 ? { requests: rate.requests, perMs, key: rate.key } : undefined,
    maxRequestBodyBytes: r.max_request_body === undefined ? undefined : parseSize(r.max_request_body),
  };
}

export function buildLimits(raw: RawConfig, issues: ConfigIssue[]): LimitsConfig {
  const l = raw.limits ?? {};
  const rate = (key: 'sign_in' | 'backchannel_logout', requests: number, per: string): RateLimitConfig | undefined => {
    const given = l[key] ?? { requests, per };
    const perMs = parseDuration(given.per);
    if (perMs === 0) issues.push({ path: ['limits', key, 'per'], message: 'must be longer than 0' });
    return given.requests === 0 || perMs === 0 ? undefined : { requests: given.requests, perMs };
  };
  const headersTimeoutMs = parseDuration(l.headers_timeout ?? '30s');
  const requestTimeoutMs = parseDuration(l.request_timeout ?? '0s');
  if (headersTimeoutMs === 0) issues.push({ path: ['limits', 'headers_timeout'], message: 'must be longer than 0: a client could hold a connection forever' });
  if (requestTimeoutMs !== 0 && requestTimeoutMs < headersTimeoutMs) {
    issues.push({ path: ['limits', 'request_timeout'], message: 'must be 0s (no limit) or at least headers_timeout' });
  }
  return {
    signIn: rate('sign_in', 300, '1m'),
    backchannelLogout: rate('backchannel_logout', 600, '1m'),
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: parseDuration(l.keep_alive_timeout ?? '65s'),
    maxConnections: l.max_connections ?? 10_000,
  };
}
