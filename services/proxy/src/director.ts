// The director: what the upstream receives. Client-supplied identity headers are always removed (in any casing,
// with `_` for `-`), hop-by-hop headers are dropped, Vallum's own cookie is kept from the app, and the verified
// identity is added when the route passes it.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

const IDENTITY_HEADER = /^x[-_]vallum[-_]/i;

export interface IdentityHeaders {
  email: string;
  groups: readonly string[];
  assertion: string;
  /** Deployment-chosen claim headers (`jwt_claims_headers`), name → value. */
  extra?: Readonly<Record<string, string>>;
}

export interface UpstreamHeadersInput {
  headers: IncomingHttpHeaders;
  cookieName: string;
  clientIp: string | undefined;
  proto: 'http' | 'https';
  host: string;
  requestId: string;
  identity?: IdentityHeaders;
  /** More header names (lower-case, `-`) clients may not send: the `jwt_claims_headers` names. */
  stripHeaders?: ReadonlySet<string>;
}

function connectionTokens(headers: IncomingHttpHeaders | Record<string, unknown>): Set<string> {
  const value = headers.connection;
  const tokens = new Set<string>();
  if (typeof value === 'string') for (const t of value.split(',')) tokens.add(t.trim().toLowerCase());
  return tokens;
}

export function upstreamRequestHeaders(input: UpstreamHeadersInput): Record<string, string | string[]> {
  const named = connectionTokens(input.headers);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(input.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || IDENTITY_HEADER.test(name) || name === 'host') continue;
    if (input.stripHeaders?.has(name.replaceAll('_', '-'))) continue;
    if (name === 'cookie') {
      const kept = withoutCookie(Array.isArray(value) ? value.join('; ') : value, input.cookieName);
      if (kept) out.cookie = kept;
      continue;
    }
    out[name] = value;
  }
  // Until trusted_proxies exists, a client's own X-Forwarded-For is not trusted: the peer address replaces it.
  if (input.clientIp) out['x-forwarded-for'] = input.clientIp;
  else delete out['x-forwarded-for'];
  out['x-forwarded-proto'] = input.proto;
  out['x-forwarded-host'] = input.host;
  out['x-request-id'] = input.requestId;
  if (input.identity) {
    out['x-vallum-jwt-assertion'] = input.identity.assertion;
    out['x-vallum-claim-email'] = input.identity.email;
    out['x-vallum-claim-groups'] = input.identity.groups.join(',');
    for (const [name, value] of Object.entries(input.identity.extra ?? {})) out[name.toLowerCase()] = value;
  }
  return out;
}

export function downstreamResponseHeaders(headers: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const named = connectionTokens(headers);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function withoutCookie(header: string, name: string): string {
  return header
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !(c.startsWith(`${name}=`) || c.startsWith(`${name}_csrf=`)))
    .join('; ');
}
