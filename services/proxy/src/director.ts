// The director: what the upstream receives. Client-supplied identity headers are always removed (in any casing,
// with `_` for `-`), hop-by-hop headers are dropped, Vallum's own cookie is kept from the app, the route's header
// rules are applied and the verified identity is added last, so nothing configured or sent can override it.
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
  // undici refuses it; Node's server has already answered 100 Continue when the body is read.
  'expect',
]);

const IDENTITY_HEADER = /^x[-_]vallum[-_]/i;

export interface IdentityHeaders {
  email: string;
  groups: readonly string[];
  assertion: string;
  /** Deployment-chosen claim headers (`jwt_claims_headers`), name → value. */
  extra?: Readonly<Record<string, string>>;
}

export interface RouteHeaderRules {
  setRequestHeaders: Readonly<Record<string, string>>;
  removeRequestHeaders: readonly string[];
}

export interface UpstreamHeadersInput {
  headers: IncomingHttpHeaders;
  cookieName: string;
  clientIp: string | undefined;
  /** The peer is a trusted proxy: its X-Forwarded-For is kept and the peer appended. */
  trustedPeer?: boolean;
  proto: 'http' | 'https';
  host: string;
  requestId: string;
  identity?: IdentityHeaders;
  rules?: RouteHeaderRules;
  /** The protocol of an upgrade (WebSocket) being forwarded; Upgrade is hop-by-hop otherwise. */
  upgrade?: string;
  /** More header names (lower-case, `-`) clients may not send: the `jwt_claims_headers` names. */
  stripHeaders?: ReadonlySet<string>;
}

function connectionTokens(value: unknown): Set<string> | undefined {
  if (typeof value !== 'string') return undefined;
  const tokens = new Set<string>();
  for (const t of value.split(',')) tokens.add(t.trim().toLowerCase());
  return tokens;
}

function hopByHop(name: string, named: Set<string> | undefined): boolean {
  return HOP_BY_HOP.has(name) || (named !== undefined && named.has(name));
}

export function upstreamRequestHeaders(input: UpstreamHeadersInput): Record<string, string | string[]> {
  const named = connectionTokens(input.headers.connection);
  const removed = input.rules?.removeRequestHeaders;
  const out: Record<string, string | string[]> = {};
  for (const name in input.headers) {
    const value = input.headers[name];
    if (value === undefined || hopByHop(name, named) || IDENTITY_HEADER.test(name) || name === 'host') continue;
    if (removed !== undefined && removed.length > 0 && removed.includes(name)) continue;
    if (input.stripHeaders?.has(name.replaceAll('_', '-'))) continue;
    if (name === 'cookie') {
      const kept = withoutCookie(Array.isArray(value) ? value.join('; ') : value, input.cookieName);
      if (kept) out.cookie = kept;
      continue;
    }
    out[name] = value;
  }
  const given = out['x-forwarded-for'];
  if (input.trustedPeer && given !== undefined) {
    const prior = Array.isArray(given) ? given.join(', ') : given;
    out['x-forwarded-for'] = input.clientIp ? `${prior}, ${input.clientIp}` : prior;
  } else if (input.clientIp) out['x-forwarded-for'] = input.clientIp;
  else delete out['x-forwarded-for'];
  if (!(input.trustedPeer && out['x-forwarded-proto'])) out['x-forwarded-proto'] = input.proto;
  if (!(input.trustedPeer && out['x-forwarded-host'])) out['x-forwarded-host'] = input.host;
  out['x-request-id'] = input.requestId;
  if (input.upgrade) {
    out.connection = 'Upgrade';
    out.upgrade = input.upgrade;
  }
  if (input.rules) {
    for (const name in input.rules.setRequestHeaders) {
      if (!IDENTITY_HEADER.test(name)) out[name.toLowerCase()] = input.rules.setRequestHeaders[name]!;
    }
  }
  if (input.identity) {
    out['x-vallum-jwt-assertion'] = input.identity.assertion;
    out['x-vallum-claim-email'] = input.identity.email;
    out['x-vallum-claim-groups'] = input.identity.groups.join(',');
    for (const [name, value] of Object.entries(input.identity.extra ?? {})) out[name.toLowerCase()] = value;
  }
  return out;
}

/** Response headers for the client as an object (the tests and small responses). */
export function downstreamResponseHeaders(headers: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const named = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || (name !== 'trailer' && hopByHop(name, named))) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Response headers for the client from undici's raw list (name, value, name, value…), keeping repeats and order.
 * `Trailer` is kept: the trailers it announces are forwarded. Route `set_response_headers` replace same-named ones.
 */
export function downstreamRawHeaders(raw: readonly Buffer[], set: Readonly<Record<string, string>> | undefined): string[] {
  const out: string[] = [];
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toString('latin1').toLowerCase() === 'connection') named = connectionTokens(raw[i + 1]!.toString('latin1'));
  }
  const replaced = set && Object.keys(set).length > 0 ? new Set(Object.keys(set).map((k) => k.toLowerCase())) : undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if ((lower !== 'trailer' && hopByHop(lower, named)) || replaced?.has(lower)) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  if (set) for (const name in set) out.push(name, set[name]!);
  return out;
}

function withoutCookie(header: string, name: string): string {
  return header
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !(c.startsWith(`${name}=`) || c.startsWith(`${name}_csrf=`)))
    .join('; ');
}
