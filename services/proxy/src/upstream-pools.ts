// The upstream dispatchers (undici pools) of a process, shared by every route that names the same upstream with the
// same connection settings, made on first use and kept across reloads while some route still names them. 10,000
// routes to one app dispatch through one pool rather than 10,000 (each built and later collected, ~0.2 ms and
// tens of KB apiece), and a reload that keeps an upstream keeps its pool and its open keep-alive connections.
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { Dispatcher, interceptors as Interceptors, Agent as UndiciAgent, Pool as UndiciPool } from 'undici';
import type { RouteConfig } from '@vallum/config';
import { createCachedLookup } from './dns-cache.js';
import { H1Upstream } from './h1-upstream.js';
import { H2Upstream } from './h2-upstream.js';
import { Pool } from './undici-pool.js';
import { hostnameOf, upstreamTlsOptions } from './upstream-connection.js';

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
 * An HTTP/2 endpoint gets one session (see h2-upstream.ts), named ones resolved through the cached lookup. An IP
 * endpoint gets a plain Pool. A named one is resolved again every `upstreamDnsTtlMs` by undici's DNS
 * interceptor, which sends each request to a Pool per address: once an address leaves the answer its connections
 * get no new requests, go idle and close, and the Agent drops their Pool.
 */
function endpointDispatcher(route: RouteConfig, url: URL, lookup: UpstreamLookup | undefined): Dispatcher {
  if (route.upstreamProtocol !== 'http1') {
    const options = { tls: route.upstreamTls, connectTimeoutMs: route.connectTimeoutMs, idleTimeoutMs: KEEP_ALIVE_MAX_MS };
    return new H2Upstream(url, isIP(hostnameOf(url)) ? options : { ...options, lookup: createCachedLookup(route.upstreamDnsTtlMs) });
  }
  if (isIP(hostnameOf(url))) {
    return new H1Upstream(url, {
      tls: route.upstreamTls,
      connectTimeoutMs: route.connectTimeoutMs,
      keepAliveMaxMs: KEEP_ALIVE_MAX_MS,
      maxConnections: MAX_CONNECTIONS,
    });
  }
  const options = poolOptions(route, url, Math.min(KEEP_ALIVE_MAX_MS, route.upstreamDnsTtlMs));
  // All of undici is loaded only when a route names its upstream by host name (see undici-pool.ts).
  const { Agent, interceptors } = createRequire(import.meta.url)('undici') as { Agent: typeof UndiciAgent; interceptors: typeof Interceptors };
  const agent = new Agent({ factory: (origin) => new Pool(origin, options) });
  // The last interceptor runs first: the endpoint's origin goes in, then the DNS step swaps in an address and
  // keeps the name in Host and in the TLS server name.
  return agent.compose(interceptors.dns({ maxTTL: route.upstreamDnsTtlMs, lookup }), withOrigin(url));
}

/** Callers dispatch without an origin, as a Pool has its own; the Agent behind the DNS step needs one. */
function withOrigin(url: URL): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => dispatch({ ...opts, origin: url }, handler);
}

function poolOptions(route: RouteConfig, url: URL, keepAliveMaxTimeout: number): UndiciPool.Options {
  return {
    connections: MAX_CONNECTIONS,
    pipelining: 1,
    keepAliveMaxTimeout,
    connect: { timeout: route.connectTimeoutMs, ...upstreamTlsOptions(route.upstreamTls, url) },
  };
}
