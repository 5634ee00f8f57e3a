// The upstream dispatchers (HTTP/1.1 connection pools, HTTP/2 sessions) of a process, shared by every route that names the same upstream with the
// same connection settings, made on first use and kept across reloads while some route still names them. 10,000
// routes to one app dispatch through one pool rather than 10,000 (each built and later collected, ~0.2 ms and
// tens of KB apiece), and a reload that keeps an upstream keeps its pool and its open keep-alive connections.
import { isIP } from 'node:net';
import type { Dispatcher, interceptors as Interceptors } from 'undici';
import type { RouteConfig } from '@vallum/config';
import { createCachedLookup, type ResolveAll } from './dns-cache.js';
import { H1Upstream } from './h1-upstream.js';
import { H2Upstream } from './h2-upstream.js';
import { hostnameOf } from './upstream-connection.js';

/** Resolves an upstream host name to addresses, as undici's DNS interceptor calls it. */
export type UpstreamLookup = NonNullable<NonNullable<Parameters<typeof Interceptors.dns>[0]>['lookup']>;

/** One route endpoint's claim on a shared dispatcher. */
export interface PoolLease {
  /** The dispatcher, made on the first call. */
  dispatcher(): Dispatcher;
  /** Gives the claim back; the dispatcher closes when no lease is left. Idempotent. */
  release(): Promise<void>;
}

export interface UpstreamPools {
  /** A claim on the dispatcher for `url` with `route`'s connection settings. */
  lease(route: RouteConfig, url: URL): PoolLease;
  /** How many distinct dispatchers are leased, and how many of them were made (used) so far. */
  size(): { leased: number; made: number };
  /** Closes every dispatcher, leased or not (the process is stopping). */
  close(): Promise<void>;
}

export interface UpstreamPoolsOptions {
  /** Replaces the system resolver for named upstreams (tests answer with addresses of their choosing). */
  lookup?: UpstreamLookup | undefined;
}

/** Longest an idle upstream connection is kept, whatever the upstream's Keep-Alive says. */
const KEEP_ALIVE_MAX_MS = 30_000;
/** Connections per upstream dispatcher; further requests wait for one. */
const MAX_CONNECTIONS = 256;

interface Entry {
  leases: number;
  made: Dispatcher | undefined;
}

export function createUpstreamPools(options: UpstreamPoolsOptions = {}): UpstreamPools {
  const entries = new Map<string, Entry>();
  return {
    lease(route, url) {
      const key = dispatcherKey(route, url);
      let entry = entries.get(key);
      if (!entry) {
        entry = { leases: 0, made: undefined };
        entries.set(key, entry);
      }
      entry.leases++;
      const held = entry;
      let released = false;
      return {
        dispatcher: () => (held.made ??= endpointDispatcher(route, url, options.lookup)),
        async release() {
          if (released) return;
          released = true;
          if (--held.leases > 0) return;
          if (entries.get(key) === held) entries.delete(key);
          await held.made?.close();
        },
      };
    },
    size() {
      let made = 0;
      for (const e of entries.values()) if (e.made) made++;
      return { leased: entries.size, made };
    },
    async close() {
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(all.map((e) => e.made?.close()));
    },
  };
}

/** Everything a dispatcher is built from: routes that agree on it share one. */
function dispatcherKey(route: RouteConfig, url: URL): string {
  const named = !isIP(hostnameOf(url));
  let key = `${route.upstreamProtocol}\0${url.origin}\0${route.connectTimeoutMs}\0${named ? route.upstreamDnsTtlMs : ''}`;
  if (url.protocol === 'https:') {
    const tls = route.upstreamTls;
    key += `\0${tls.skipVerify}\0${tls.ca ?? ''}\0${tls.cert ?? ''}\0${tls.key ?? ''}`;
  }
  return key;
}

/**
 * An HTTP/1.1 endpoint gets Vallum's own keep-alive connections (h1-upstream.ts), an HTTP/2 one a session
 * (h2-upstream.ts). A named endpoint is resolved through the cached lookup when a connection is made, and its
 * connections are not reused past `upstreamDnsTtlMs`, so once an address leaves the answer it gets no new requests
 * and its connections close.
 */
function endpointDispatcher(route: RouteConfig, url: URL, lookup: UpstreamLookup | undefined): Dispatcher {
  const ttl = route.upstreamDnsTtlMs;
  const named = isIP(hostnameOf(url)) ? {} : { lookup: createCachedLookup(ttl, lookup ? resolveThrough(lookup) : undefined) };
  if (route.upstreamProtocol !== 'http1') {
    return new H2Upstream(url, { tls: route.upstreamTls, connectTimeoutMs: route.connectTimeoutMs, idleTimeoutMs: KEEP_ALIVE_MAX_MS, ...named });
  }
  return new H1Upstream(url, {
    tls: route.upstreamTls,
    connectTimeoutMs: route.connectTimeoutMs,
    maxConnections: MAX_CONNECTIONS,
    ...(named.lookup ? { keepAliveMaxMs: Math.min(KEEP_ALIVE_MAX_MS, ttl), maxAgeMs: ttl, lookup: named.lookup } : { keepAliveMaxMs: KEEP_ALIVE_MAX_MS }),
  });
}

/** A resolver given in undici's form (tests answer with addresses of their choosing) as the cache's `ResolveAll`. */
function resolveThrough(lookup: UpstreamLookup): ResolveAll {
  return (hostname, family) =>
    new Promise((resolve, reject) =>
      lookup(new URL(`http://${hostname.includes(':') ? `[${hostname}]` : hostname}`), { family } as never, (err, addresses) =>
        err ? reject(err) : resolve(addresses.map((a) => ({ address: a.address, family: a.family }))),
      ),
    );
}
