// The shared HTTP response cache of a route (`cache: {max_bytes}`), after RFC 9111 for a shared cache: only GET
// responses with an explicit freshness or a validator are kept; no-store, private, Set-Cookie and `Vary: *` responses
// never. A request that carried identity (a route that identifies users, or Vallum's identity headers) is answered
// from the cache only by a response the upstream marked `public` that does not vary on who the user is (identity
// headers, Cookie, Authorization), so one user's page never reaches another; requests with Authorization only by
// explicitly shared ones (`public` or `s-maxage`). Vary is evaluated against the headers Vallum sends upstream, not
// the client's. Age is sent, stale entries are revalidated with If-None-Match / If-Modified-Since, and memory is
// bounded by an LRU over body + header bytes.
export interface CacheEntry {
  status: number;
  /** Client-bound headers (flat name/value list) without Age. */
  headers: string[];
  body: Buffer;
  storedAt: number;
  /** Age the upstream reported when the entry was stored, in seconds. */
  initialAge: number;
  lifetimeMs: number;
  etag: string | undefined;
  lastModified: string | undefined;
  vary: Array<[string, string]>;
  size: number;
}

export type Directives = Map<string, string | true>;

export function parseCacheControl(value: string | string[] | undefined): Directives {
  const out: Directives = new Map();
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  for (const part of text.split(',')) {
    const [rawName, ...rest] = part.split('=');
    const name = rawName!.trim().toLowerCase();
    if (!name) continue;
    out.set(name, rest.length ? rest.join('=').trim().replace(/^"|"$/g, '') : true);
  }
  return out;
}

export function headerOf(headers: readonly string[], name: string): string | undefined {
  const values: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) values.push(headers[i + 1]!);
  return values.length ? values.join(', ') : undefined;
}

const seconds = (v: string | true | undefined) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
const STORABLE_STATUS = new Set([200, 203, 204, 301, 404, 410]);

/** The request headers as Vallum sends them upstream: a flat name/value list (identity headers in, its cookie out). */
export type SentHeaders = readonly string[];

export interface StorableInput {
  status: number;
  /** The response headers (flat name/value list). */
  headers: readonly string[];
  sent: SentHeaders;
  /** The route identifies users (not public). */
  userIdentified: boolean;
  /** Lower-cased names of the deployment's claim headers (`jwt_claims_headers`). */
  identityNames?: ReadonlySet<string>;
  now: number;
}

const VALLUM_HEADER = /^x[-_]vallum[-_]/i;

/** A request header that says who the user is: a response varying on it is personal. */
export function namesUser(name: string, identityNames: ReadonlySet<string> | undefined): boolean {
  const n = name.toLowerCase();
  return n === 'cookie' || n === 'authorization' || VALLUM_HEADER.test(n) || identityNames?.has(n.replaceAll('_', '-')) === true;
}

function carriesIdentity(sent: SentHeaders, identityNames: ReadonlySet<string> | undefined): boolean {
  for (let i = 0; i < sent.length; i += 2) {
    const n = sent[i]!;
    if (VALLUM_HEADER.test(n) || identityNames?.has(n.toLowerCase()) === true) return true;
  }
  return false;
}

export function varyNames(headers: readonly string[]): string[] {
  return (headerOf(headers, 'vary') ?? '')
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean);
}

/** Freshness lifetime in ms for a shared cache, or undefined when the response must not be stored. */
export function storableLifetime(input: StorableInput): number | undefined {
  const { headers, sent } = input;
  if (!STORABLE_STATUS.has(input.status)) return undefined;
  const req = parseCacheControl(headerOf(sent, 'cache-control'));
  const cc = parseCacheControl(headerOf(headers, 'cache-control'));
  if (req.has('no-store') || cc.has('no-store') || cc.has('private')) return undefined;
  if (headerOf(headers, 'set-cookie') !== undefined) return undefined;
  const vary = varyNames(headers);
  if (vary.includes('*')) return undefined;
  if (input.userIdentified || carriesIdentity(sent, input.identityNames)) {
    if (!cc.has('public') || vary.some((n) => namesUser(n, input.identityNames))) return undefined;
  } else if (headerOf(sent, 'authorization') !== undefined && !cc.has('public') && !cc.has('s-maxage')) return undefined;
  let lifetime = seconds(cc.get('s-maxage')) ?? seconds(cc.get('max-age'));
  if (lifetime === undefined) {
    const expires = Date.parse(headerOf(headers, 'expires') ?? '');
    const date = Date.parse(headerOf(headers, 'date') ?? '') || input.now;
    if (!Number.isNaN(expires)) lifetime = Math.max(0, (expires - date) / 1000);
  }
  if (cc.has('no-cache')) lifetime = 0;
  const validator = headerOf(headers, 'etag') !== undefined || headerOf(headers, 'last-modified') !== undefined;
  if (!lifetime && !validator) return undefined;
  return (lifetime ?? 0) * 1000;
}

export interface ResponseCache {
  /** The entry for this key whose Vary'd request headers, as sent upstream, match, if any. */
  lookup(key: string, sent: SentHeaders): CacheEntry | undefined;
  store(key: string, entry: CacheEntry): void;
  /** Drops one entry (a revalidation said it may no longer be stored). */
  remove(key: string, entry: CacheEntry): void;
  /** Current age of an entry in seconds. */
  age(entry: CacheEntry, now: number): number;
  fresh(entry: CacheEntry, now: number): boolean;
  readonly bytes: number;
}

export function createResponseCache(maxBytes: number): ResponseCache {
  // Map order is recency: a hit is re-inserted at the end, eviction takes from the front.
  const entries = new Map<string, CacheEntry[]>();
  let bytes = 0;
  const varyMatches = (entry: CacheEntry, sent: SentHeaders) => entry.vary.every(([name, value]) => (headerOf(sent, name) ?? '') === value);
  const drop = (key: string) => {
    for (const e of entries.get(key) ?? []) bytes -= e.size;
    entries.delete(key);
  };
  return {
    get bytes() {
      return bytes;
    },
    lookup(key, sent) {
      const list = entries.get(key);
      if (!list) return undefined;
      entries.delete(key);
      entries.set(key, list);
      return list.find((e) => varyMatches(e, sent));
    },
    remove(key, entry) {
      const list = entries.get(key);
      const i = list?.indexOf(entry) ?? -1;
      if (i < 0) return;
      list!.splice(i, 1);
      bytes -= entry.size;
      if (list!.length === 0) entries.delete(key);
    },
    store(key, entry) {
      if (entry.size > maxBytes) return;
      const list = (entries.get(key) ?? []).filter((e) => {
        const same = e.vary.length === entry.vary.length && e.vary.every(([n, v], i) => entry.vary[i]?.[0] === n && entry.vary[i]?.[1] === v);
        if (same) bytes -= e.size;
        return !same;
      });
      list.push(entry);
      bytes += entry.size;
      entries.delete(key);
      entries.set(key, list);
      for (const oldest of entries.keys()) {
        if (bytes <= maxBytes) break;
        if (oldest !== key) drop(oldest);
      }
      if (bytes > maxBytes) drop(key);
    },
    age(entry, now) {
      return entry.initialAge + Math.max(0, Math.floor((now - entry.storedAt) / 1000));
    },
    fresh(entry, now) {
      return entry.initialAge * 1000 + (now - entry.storedAt) < entry.lifetimeMs;
    },
  };
}

/** The Vary'd request headers of a response, with their values as sent upstream. */
export function varyOf(headers: readonly string[], sent: SentHeaders): Array<[string, string]> {
  return varyNames(headers).map((n) => [n, headerOf(sent, n) ?? '']);
}
