// The director: what the upstream receives. Client-supplied identity headers are always removed (in any casing,
// with `_` for `-`), hop-by-hop headers are dropped, forwarding headers (who the client is, how it came) are
// believed only from trusted proxies, Vallum's own cookie is kept from the app, the route's header rules are applied
// and the verified identity is added last, so nothing configured or sent can override it. Request trailers go
// through the same filter.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { TraceContext } from '@vallum/telemetry';

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
  /** Vallum's hop of the trace: the upstream gets its traceparent (the client's is replaced) and a trusted tracestate. */
  trace?: Pick<TraceContext, 'traceparent' | 'tracestate'>;
  identity?: IdentityHeaders;
  /** The verified client certificate's fingerprint header (downstream_mtls), as a name and value. */
  clientCertificate?: readonly [string, string] | undefined;
  rules?: RouteHeaderRules;
  /** The protocol of an upgrade (WebSocket) being forwarded; Upgrade is hop-by-hop otherwise. */
  upgrade?: string;
  /** More header names (lower-case, `-`) clients may not send: the `jwt_claims_headers` names. */
  stripHeaders?: ReadonlySet<string>;
  /** The Authorization header carried a Vallum credential, which the app must never see. */
  dropAuthorization?: boolean;
  /** What was worked out for earlier requests (the proxy state's); without it, nothing is kept. */
  memo?: HeaderMemo;
}

/** Header work kept between requests: a route's header plan, an identity's header lines. Keyed by frozen objects. */
export interface HeaderMemo {
  readonly plans: WeakMap<RouteHeaderRules, HeaderPlan>;
  readonly identityLists: WeakMap<IdentityHeaders, string[]>;
}

export function createHeaderMemo(): HeaderMemo {
  return { plans: new WeakMap(), identityLists: new WeakMap() };
}

/** Tokens named by a Connection header; undefined when it names only hop-by-hop headers anyway (the usual case). */
function connectionTokens(value: unknown): Set<string> | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.length <= 10 ? value.toLowerCase() : '';
  if (v === 'keep-alive' || v === 'close' || v === 'upgrade') return undefined;
  const tokens = new Set<string>();
  for (const t of value.split(',')) tokens.add(t.trim().toLowerCase());
  return tokens;
}

function hopByHop(name: string, named: Set<string> | undefined): boolean {
  return HOP_BY_HOP.has(name) || (named !== undefined && named.has(name));
}

/** Header names set by Vallum itself; the client's copies are replaced (X-Forwarded-* kept only from trusted peers). */
const FORWARDING = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id']);

/**
 * Fields that tell an app who the client is, how it reached the proxy or which URL it asked for; apps and frameworks
 * believe them. Besides `Forwarded` and every `X-Forwarded-*`.
 */
const FORWARDED_IDENTITY = new Set([
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'true-client-ip',
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
  'x-request-id',
]);

/** A forwarding field, in any casing (lower-cased here) and with `_` for `-`, which some servers read as `-`. */
export function isForwardingField(name: string): boolean {
  const c = name.charCodeAt(0) | 32;
  if (c !== 120 && c !== 102 && c !== 116) return false;
  const n = name.includes('_') ? name.replaceAll('_', '-') : name;
  return n.startsWith('x-forwarded-') || FORWARDED_IDENTITY.has(n);
}

/** Vallum is a hop of the trace: it sends its own (carrying a trusted caller's trace id and tracestate). */
const TRACE_FIELDS = new Set(['traceparent', 'tracestate']);

/** What decides whether one client-sent field (header or trailer) reaches the upstream. */
interface FieldFilter {
  named: Set<string> | undefined;
  strip: ReadonlySet<string> | undefined;
  plan: HeaderPlan | undefined;
  /** Forwarding fields are passed on as sent (the peer is a trusted proxy); never for trailers. */
  trustedPeer: boolean;
  dropAuthorization: boolean;
}

/**
 * The one filter for client-sent fields: not Host, not hop-by-hop, no identity header (X-Vallum-*, claim headers),
 * forwarding fields only from a trusted peer in their canonical spelling (Vallum's own are added after), and the
 * route's removals. Names are lower-case.
 */
function passes(name: string, f: FieldFilter): boolean {
  // HTTP/2 pseudo-headers (`:method`, `:authority`…) describe the client's request; the upstream request has its own.
  if (name === 'host' || name.charCodeAt(0) === 58 || hopByHop(name, f.named) || TRACE_FIELDS.has(name)) return false;
  if ((name.charCodeAt(0) | 32) === 120 && IDENTITY_HEADER.test(name)) return false;
  if (isForwardingField(name) && (!f.trustedPeer || FORWARDING.has(name) || name.includes('_'))) return false;
  if (f.plan !== undefined && f.plan.removed.has(name)) return false;
  if (f.strip !== undefined && f.strip.has(name.replaceAll('_', '-'))) return false;
  return !(name === 'authorization' && f.dropAuthorization);
}

function fieldFilter(input: TrailerFilterInput, trustedPeer: boolean): FieldFilter {
  const h = input.headers;
  const strip = input.stripHeaders !== undefined && input.stripHeaders.size > 0 ? input.stripHeaders : undefined;
  return {
    named: h?.connection === undefined ? undefined : connectionTokens(h.connection),
    strip,
    plan: planOf(input.rules, strip, input.memo),
    trustedPeer,
    dropAuthorization: input.dropAuthorization === true,
  };
}

/** What a route's header rules remove or replace, lower-cased, worked out once per rules object. */
export interface HeaderPlan {
  /** Client headers not passed on: removed by the route, or replaced by its `set_request_headers`. */
  removed: Set<string>;
  /** The route's `set_request_headers`, as a name/value list. */
  set: string[];
  setNames: Set<string>;
}
function planOf(rules: RouteHeaderRules | undefined, identityNames: ReadonlySet<string> | undefined, memo: HeaderMemo | undefined): HeaderPlan | undefined {
  if (!rules) return undefined;
  let plan = memo?.plans.get(rules);
  if (!plan) {
    const set: string[] = [];
    for (const name in rules.setRequestHeaders) {
      // Identity headers (X-Vallum-* and the claim headers) are Vallum's alone: a route cannot set them.
      if (IDENTITY_HEADER.test(name) || identityNames?.has(name.toLowerCase().replaceAll('_', '-'))) continue;
      set.push(name.toLowerCase(), rules.setRequestHeaders[name]!);
    }
    const setNames = new Set(set.filter((_, i) => i % 2 === 0));
    const removed = new Set([...rules.removeRequestHeaders.map((n) => n.toLowerCase()), ...setNames]);
    plan = { removed, set, setNames };
    memo?.plans.set(rules, plan);
  }
  return plan;
}

/** The identity headers as a name/value list, built once per identity object. */
function identityList(identity: IdentityHeaders, memo: HeaderMemo | undefined): string[] {
  let list = memo?.identityLists.get(identity);
  if (!list) {
    list = ['x-vallum-jwt-assertion', identity.assertion, 'x-vallum-claim-email', identity.email, 'x-vallum-claim-groups', identity.groups.join(',')];
    for (const name in identity.extra) list.push(name.toLowerCase(), identity.extra[name]!);
    memo?.identityLists.set(identity, list);
  }
  return list;
}

/** The request headers for the upstream as a flat name/value list (what undici takes), without Host. */
export function upstreamHeaderList(input: UpstreamHeadersInput): string[] {
  const h = input.headers;
  const trusted = input.trustedPeer === true;
  const filter = fieldFilter(input, trusted);
  const plan = filter.plan;
  const out: string[] = [];
  for (const name in h) {
    const value = h[name];
    if (value === undefined || !passes(name, filter)) continue;
    if (name === 'cookie') {
      const kept = withoutCookie(Array.isArray(value) ? value.join('; ') : value, input.cookieName);
      if (kept) out.push('cookie', kept);
    } else if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  if (ours(plan, 'x-forwarded-for')) {
    const given = trusted && plan?.removed.has('x-forwarded-for') !== true ? h['x-forwarded-for'] : undefined;
    if (given !== undefined) {
      const prior = forwardedValue(given)!;
      out.push('x-forwarded-for', input.clientIp ? `${prior}, ${input.clientIp}` : prior);
    } else if (input.clientIp) out.push('x-forwarded-for', input.clientIp);
  }
  if (ours(plan, 'x-forwarded-proto')) out.push('x-forwarded-proto', (trusted && forwardedValue(h['x-forwarded-proto'])) || input.proto);
  if (ours(plan, 'x-forwarded-host')) out.push('x-forwarded-host', (trusted && forwardedValue(h['x-forwarded-host'])) || input.host);
  if (ours(plan, 'x-request-id')) out.push('x-request-id', input.requestId);
  if (input.trace !== undefined) {
    out.push('traceparent', input.trace.traceparent);
    if (input.trace.tracestate !== undefined) out.push('tracestate', input.trace.tracestate);
  }
  if (input.upgrade) out.push('connection', 'Upgrade', 'upgrade', input.upgrade);
  if (plan !== undefined) for (let i = 0; i < plan.set.length; i++) out.push(plan.set[i]!);
  if (input.clientCertificate) out.push(input.clientCertificate[0], input.clientCertificate[1]);
  if (input.identity) for (const v of identityList(input.identity, input.memo)) out.push(v);
  return out;
}

/** What the trailer filter needs of the request: its headers (Connection), the route's rules, the claim headers. */
export type TrailerFilterInput = Partial<Pick<UpstreamHeadersInput, 'headers' | 'rules' | 'stripHeaders' | 'dropAuthorization' | 'memo'>>;

/** Fields RFC 9110 §6.5.1 keeps out of trailers (framing, routing, authentication, request modifiers, content). */
const NOT_IN_TRAILERS = new Set([
  'content-length',
  'content-type',
  'content-encoding',
  'content-range',
  'authorization',
  'cookie',
  'set-cookie',
  'range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'cache-control',
  'max-forwards',
  'pragma',
]);

function passesAsTrailer(name: string, filter: FieldFilter): boolean {
  return !NOT_IN_TRAILERS.has(name) && passes(name, filter);
}

/**
 * The client's request trailers for the upstream, from Node's raw list (name, value, …), through the header filter:
 * a server may merge trailers into its headers, so a trailer can claim no more than a header could.
 */
export function upstreamTrailerList(raw: readonly string[], input: TrailerFilterInput = {}): Array<[string, string]> {
  const filter = fieldFilter(input, false);
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (passesAsTrailer(raw[i]!.toLowerCase(), filter)) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/** The request's `Trailer` announcement without the names the trailer filter drops; undefined when none is left. */
export function upstreamTrailerNames(value: string | string[] | undefined, input: TrailerFilterInput = {}): string | undefined {
  if (value === undefined) return undefined;
  const filter = fieldFilter(input, false);
  const kept: string[] = [];
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = part.trim();
    if (name !== '' && passesAsTrailer(name.toLowerCase(), filter)) kept.push(name);
  }
  return kept.length > 0 ? kept.join(', ') : undefined;
}

/** Vallum sets this forwarding header, unless the route's set_request_headers does. */
function ours(plan: HeaderPlan | undefined, name: string): boolean {
  return plan === undefined || !plan.setNames.has(name);
}

function forwardedValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The same headers as an object (upgrades through node:http, forward-auth and the tests). */
export function upstreamRequestHeaders(input: UpstreamHeadersInput): Record<string, string | string[]> {
  const list = upstreamHeaderList(input);
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const prev = out[name];
    out[name] = prev === undefined ? list[i + 1]! : Array.isArray(prev) ? [...prev, list[i + 1]!] : [prev, list[i + 1]!];
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

/** Lengths of the hop-by-hop names: most response header names are let through without lower-casing them. */
const HOP_LENGTHS = new Set([...HOP_BY_HOP].map((n) => n.length));

/**
 * Response headers for the client from undici's raw list (name, value, name, value…), keeping repeats and order.
 * `Trailer` is kept: the trailers it announces are forwarded. Route `set_response_headers` replace same-named ones
 * (`replaced`: their lower-cased names).
 */
export function downstreamRawHeaders(
  raw: ReadonlyArray<Buffer | string>,
  set: Readonly<Record<string, string>> | undefined,
  replaced: ReadonlySet<string> | undefined = set && Object.keys(set).length > 0 ? new Set(Object.keys(set).map((k) => k.toLowerCase())) : undefined,
): string[] {
  const out: string[] = [];
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!);
    if (HOP_LENGTHS.has(name.length) || replaced !== undefined) {
      const lower = name.toLowerCase();
      if (lower === 'connection') named = connectionTokens(latin1(raw[i + 1]!));
      if ((lower !== 'trailer' && HOP_BY_HOP.has(lower)) || replaced?.has(lower)) continue;
    }
    out.push(name, latin1(raw[i + 1]!));
  }
  if (named !== undefined) {
    const kept: string[] = [];
    for (let i = 0; i < out.length; i += 2) if (!named.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
    return withSet(kept, set);
  }
  return withSet(out, set);
}

/** A raw header field as text: undici's pools give Buffers, Vallum's own HTTP/1.1 client strings. */
export function latin1(field: Buffer | string): string {
  return typeof field === 'string' ? field : field.toString('latin1');
}

function withSet(out: string[], set: Readonly<Record<string, string>> | undefined): string[] {
  if (set) for (const name in set) out.push(name, set[name]!);
  return out;
}

/** The Cookie header without Vallum's own cookies (`name` and `name_csrf`), in one pass. */
function withoutCookie(header: string, name: string): string {
  const own = `${name}=`;
  const csrf = `${name}_csrf=`;
  let out = '';
  for (let start = 0; start < header.length; ) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    let a = start;
    let b = end;
    while (a < b && (header.charCodeAt(a) === 32 || header.charCodeAt(a) === 9)) a++;
    while (b > a && (header.charCodeAt(b - 1) === 32 || header.charCodeAt(b - 1) === 9)) b--;
    if (b > a && !header.startsWith(own, a) && !header.startsWith(csrf, a)) out = out === '' ? header.slice(a, b) : `${out}; ${header.slice(a, b)}`;
    start = end + 1;
  }
  return out;
}
