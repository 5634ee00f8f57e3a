// Forwarding through a route's response cache: a fresh entry is served without the upstream; a stale one with a
// validator is revalidated (a 304 refreshes it); a storable response is kept while it streams to the client. Entries
// are chosen and stored by the request headers Vallum sends upstream (`input.headers`), identity headers included.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { ForwardInput, Forwarder, ResponseTap } from './forward.js';
import type { CacheCounts } from './route-metrics.js';
import { headerOf, parseCacheControl, storableLifetime, varyOf, type CacheEntry, type ResponseCache } from './response-cache.js';

export interface CachedForwardInput extends ForwardInput {
  cache: ResponseCache;
  /** Normalised host + path + raw query. */
  key: string;
  /** The route identifies users (not public): only explicitly shared responses are kept. */
  userIdentified: boolean;
  /** Lower-cased names of the deployment's claim headers (`jwt_claims_headers`). */
  identityNames?: ReadonlySet<string>;
  /** The route's hit/miss counters, when metrics are on. */
  counts?: CacheCounts | undefined;
}

const CONDITIONS = new Set(['if-none-match', 'if-modified-since']);
const REFRESHED_ON_304 = new Set(['cache-control', 'expires', 'date', 'etag', 'last-modified', 'vary']);

export async function forwardWithCache(forwarder: Forwarder, input: CachedForwardInput, maxEntryBytes: number): Promise<void> {
  const { req, res, cache, key } = input;
  const method = req.method ?? 'GET';
  const requestCc = parseCacheControl(req.headers['cache-control']);
  if ((method !== 'GET' && method !== 'HEAD') || requestCc.has('no-store')) return forwarder.forward(input);
  const sent = input.headers;
  const entry = cache.lookup(key, sent);
  const wantsRevalidation = requestCc.has('no-cache') || requestCc.get('max-age') === '0';
  if (entry && !wantsRevalidation && cache.fresh(entry, Date.now())) {
    input.counts?.hit.inc();
    return serve(res, cache, entry, method, req.headers, input.requestId, 'HIT');
  }
  if (method === 'HEAD') return forwarder.forward(input);

  let headers = input.headers;
  if (entry) {
    // The cache revalidates its own copy; the client's conditions are answered from it afterwards.
    headers = headers.filter((_, i, all) => !CONDITIONS.has(all[i - (i % 2)]!));
    if (entry.etag) headers.push('if-none-match', entry.etag);
    if (entry.lastModified) headers.push('if-modified-since', entry.lastModified);
  }
  let collected: { chunks: Buffer[]; size: number; status: number; headers: string[]; lifetimeMs: number; initialAge: number } | undefined;
  let refreshed: CacheEntry | undefined;
  const tap: ResponseTap = {
    start(status, upstreamHeaders) {
      const now = Date.now();
      if (entry && status === 304) {
        const kept = [];
        for (let i = 0; i < entry.headers.length; i += 2) {
          if (!REFRESHED_ON_304.has(entry.headers[i]!.toLowerCase()) || headerOf(upstreamHeaders, entry.headers[i]!.toLowerCase()) === undefined) {
            kept.push(entry.headers[i]!, entry.headers[i + 1]!);
          }
        }
        for (let i = 0; i < upstreamHeaders.length; i += 2) {
          if (REFRESHED_ON_304.has(upstreamHeaders[i]!.toLowerCase())) kept.push(upstreamHeaders[i]!, upstreamHeaders[i + 1]!);
        }
        const lifetimeMs = storableLifetime({
          status: entry.status,
          headers: kept,
          sent,
          userIdentified: input.userIdentified,
          identityNames: input.identityNames,
          now,
        });
        refreshed = {
          ...entry,
          headers: kept,
          storedAt: now,
          initialAge: ageOf(upstreamHeaders),
          lifetimeMs: lifetimeMs ?? 0,
          etag: headerOf(kept, 'etag'),
          lastModified: headerOf(kept, 'last-modified'),
          vary: varyOf(kept, sent),
        };
        // The copy answers this request either way; only a response still storable stays for the next one.
        if (lifetimeMs === undefined) cache.remove(key, entry);
        else cache.store(key, refreshed);
        return 'handled';
      }
      const lifetimeMs = storableLifetime({
        status,
        headers: upstreamHeaders,
        sent,
        userIdentified: input.userIdentified,
        identityNames: input.identityNames,
        now,
      });
      const length = Number(headerOf(upstreamHeaders, 'content-length') ?? 0);
      if (lifetimeMs !== undefined && length <= maxEntryBytes) {
        collected = {
          chunks: [],
          size: 0,
          status,
          headers: upstreamHeaders.filter((_, i, all) => (i % 2 === 0 ? all[i] : all[i - 1])!.toLowerCase() !== 'age'),
          lifetimeMs,
          initialAge: ageOf(upstreamHeaders),
        };
      }
      upstreamHeaders.push('x-cache', entry ? 'EXPIRED' : 'MISS');
      input.counts?.[entry ? 'expired' : 'miss'].inc();
      return 'pass';
    },
    data(chunk) {
      if (!collected) return;
      collected.size += chunk.length;
      if (collected.size > maxEntryBytes) collected = undefined;
      else collected.chunks.push(chunk);
    },
    end(out) {
      if (refreshed) {
        input.counts?.revalidated.inc();
        return serve(out, cache, refreshed, method, req.headers, input.requestId, 'REVALIDATED');
      }
      if (!collected) return;
      const body = Buffer.concat(collected.chunks);
      const h = collected.headers;
      cache.store(key, {
        status: collected.status,
        headers: h,
        body,
        storedAt: Date.now(),
        initialAge: collected.initialAge,
        lifetimeMs: collected.lifetimeMs,
        etag: headerOf(h, 'etag'),
        lastModified: headerOf(h, 'last-modified'),
        vary: varyOf(h, sent),
        size: body.length + h.reduce((n, s) => n + s.length, 0),
      });
    },
  };
  return forwarder.forward({ ...input, headers, tap });
}

function ageOf(headers: readonly string[]): number {
  const v = Number(headerOf(headers, 'age'));
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

function etagMatches(condition: string, etag: string): boolean {
  const weak = (t: string) => t.trim().replace(/^W\//, '');
  return condition.trim() === '*' || condition.split(',').some((t) => weak(t) === weak(etag));
}

function serve(
  res: ServerResponse,
  cache: ResponseCache,
  entry: CacheEntry,
  method: string,
  requestHeaders: IncomingHttpHeaders,
  requestId: string,
  state: string,
): void {
  const age = String(cache.age(entry, Date.now()));
  const ifNoneMatch = requestHeaders['if-none-match'];
  if (entry.status === 200 && entry.etag && typeof ifNoneMatch === 'string' && etagMatches(ifNoneMatch, entry.etag)) {
    const kept: string[] = [];
    for (let i = 0; i < entry.headers.length; i += 2) {
      if (REFRESHED_ON_304.has(entry.headers[i]!.toLowerCase())) kept.push(entry.headers[i]!, entry.headers[i + 1]!);
    }
    res.writeHead(304, [...kept, 'age', age, 'x-request-id', requestId, 'x-cache', state]);
    res.end();
    return;
  }
  res.writeHead(entry.status, [...entry.headers, 'age', age, 'x-request-id', requestId, 'x-cache', state]);
  res.end(method === 'HEAD' ? undefined : entry.body);
}
