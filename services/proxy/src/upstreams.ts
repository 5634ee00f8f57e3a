// A route's upstreams: the balancer (with its probes of ejected endpoints), one dispatcher per endpoint (with the
// route's connect timeout and TLS settings) and the active health checker. Built with the proxy app and closed with
// it, so a reload starts fresh.
import { createRequire } from 'node:module';
import { isIP, type LookupFunction } from 'node:net';
import type { Dispatcher, interceptors as Interceptors, Agent as UndiciAgent, Pool as UndiciPool } from 'undici';
import { Pool } from './undici-pool.js';
import type { RouteConfig } from '@vallum/config';
import type { VallumMetrics } from '@vallum/telemetry';
import { createBalancer, type Balancer, type Endpoint } from './balancer.js';
import { createCachedLookup } from './dns-cache.js';
import { H2Upstream } from './h2-upstream.js';
import { createEndpointProbe, startHealthChecks } from './health-check.js';
import { upstreamCounts, type UpstreamCounts } from './route-metrics.js';
import { hostnameOf, upstreamTlsOptions } from './upstream-connection.js';

export interface RouteUpstreams {
  balancer: Balancer;
  /** A Pool for an IP endpoint, a resolving Agent for a named one (see endpointDispatcher). */
  pool(endpoint: Endpoint): Dispatcher;
  /** Host name resolution for connections made outside undici (upgrades), kept for `upstream_dns_ttl`. */
  lookup: LookupFunction;
  /** The endpoint's latency and error counters; undefined when metrics are off. */
  counts(endpoint: Endpoint): UpstreamCounts | undefined;
  close(): Promise<void>;
}

/** Resolves an upstream host name to addresses, as undici's DNS interceptor calls it. */
export type UpstreamLookup = NonNullable<NonNullable<Parameters<typeof Interceptors.dns>[0]>['lookup']>;

export interface RouteUpstreamsOptions {
  /** Replaces the system resolver (tests answer with addresses of their choosing). */
  lookup?: UpstreamLookup;
  /** Counts latency and errors per endpoint, and reports each endpoint's health at scrape time. */
  metrics?: VallumMetrics | undefined;
}

/** Longest an idle upstream connection is kept, whatever the upstream's Keep-Alive says. */
const KEEP_ALIVE_MAX_MS = 30_000;

export function createRouteUpstreams(route: RouteConfig, options: RouteUpstreamsOptions = {}): RouteUpstreams {
  const dispatchers = new Map<Endpoint, Dispatcher>();
  const dispatcher = (endpoint: Endpoint) => dispatchers.get(endpoint)!;
  const probe = createEndpointProbe(route, dispatcher);
  const balancer = createBalancer(route.to, route.weights, route.lbPolicy, route.outlier, probe);
  const lookup = createCachedLookup(route.upstreamDnsTtlMs);
  for (const endpoint of balancer.endpoints) dispatchers.set(endpoint, endpointDispatcher(route, endpoint.url, options.lookup, lookup));
  const stopChecks = route.healthCheck ? startHealthChecks(route.healthCheck, balancer.endpoints, probe) : () => {};
  const { metrics } = options;
  const counts = new Map<Endpoint, UpstreamCounts>();
  if (metrics) for (const endpoint of balancer.endpoints) counts.set(endpoint, upstreamCounts(metrics, endpoint.url.origin));
  const stopHealthReports = metrics?.watchUpstreamHealth((set) => {
    for (const endpoint of balancer.endpoints) set({ route: route.id, upstream: endpoint.url.origin }, endpoint.healthy && !endpoint.ejected ? 1 : 0);
  });
  return {
    balancer,
    pool: dispatcher,
    lookup,
    counts: (endpoint) => counts.get(endpoint),
    async close() {
      stopChecks();
      stopHealthReports?.();
      balancer.close();
      await Promise.all([...dispatchers.values()].map((d) => d.close()));
    },
  };
}

/**
 * An HTTP/2 endpoint gets one session (see h2-upstream.ts), named ones resolved through the cached lookup. An IP
 * endpoint gets a plain Pool. A named one is resolved again every `upstreamDnsTtlMs` by undici's DNS
 * interceptor, which sends each request to a Pool per address: once an address leaves the answer its connections
 * get no new requests, go idle and close, and the Agent drops their Pool.
 */
function endpointDispatcher(route: RouteConfig, url: URL, lookup: UpstreamLookup | undefined, cachedLookup: LookupFunction): Dispatcher {
  if (route.upstreamProtocol !== 'http1') {
    const options = { tls: route.upstreamTls, connectTimeoutMs: route.connectTimeoutMs, idleTimeoutMs: KEEP_ALIVE_MAX_MS };
    return new H2Upstream(url, isIP(hostnameOf(url)) ? options : { ...options, lookup: cachedLookup });
  }
  if (isIP(hostnameOf(url))) return new Pool(url.origin, poolOptions(route, url, KEEP_ALIVE_MAX_MS));
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
    connections: 256,
    pipelining: 1,
    keepAliveMaxTimeout,
    connect: { timeout: route.connectTimeoutMs, ...upstreamTlsOptions(route.upstreamTls, url) },
  };
}
