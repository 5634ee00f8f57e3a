// A route's upstreams: the balancer (with its probes of ejected endpoints), a lease on each endpoint's dispatcher
// (shared by the routes naming the same upstream with the same connection settings, see upstream-pools.ts) and the
// active health checker. Built with the proxy app and closed with it.
import type { LookupFunction } from 'node:net';
import type { Dispatcher } from 'undici';
import type { RouteConfig } from '@vallum/config';
import type { VallumMetrics } from '@vallum/telemetry';
import { createBalancer, type Balancer, type Endpoint } from './balancer.js';
import { createCachedLookup } from './dns-cache.js';
import { createEndpointProbe, startHealthChecks } from './health-check.js';
import { upstreamCounts, type UpstreamCounts } from './route-metrics.js';
import { createUpstreamPools, type PoolLease, type UpstreamLookup, type UpstreamPools } from './upstream-pools.js';

export type { UpstreamLookup } from './upstream-pools.js';

export interface RouteUpstreams {
  balancer: Balancer;
  /** A Pool for an IP endpoint, a resolving Agent for a named one (see upstream-pools.ts), made on first use. */
  pool(endpoint: Endpoint): Dispatcher;
  /** Host name resolution for connections made outside undici (upgrades), kept for `upstream_dns_ttl`. */
  lookup: LookupFunction;
  /** The endpoint's latency and error counters; undefined when metrics are off. */
  counts(endpoint: Endpoint): UpstreamCounts | undefined;
  close(): Promise<void>;
}

export interface RouteUpstreamsOptions {
  /** The process's shared dispatchers; without them the route gets dispatchers of its own, closed with it. */
  pools?: UpstreamPools | undefined;
  /** Replaces the system resolver of the route's own dispatchers (tests answer with addresses of their choosing). */
  lookup?: UpstreamLookup;
  /** Counts latency and errors per endpoint, and reports each endpoint's health at scrape time. */
  metrics?: VallumMetrics | undefined;
}

export function createRouteUpstreams(route: RouteConfig, options: RouteUpstreamsOptions = {}): RouteUpstreams {
  const own = options.pools ? undefined : createUpstreamPools({ lookup: options.lookup });
  const pools = options.pools ?? own!;
  const leases = new Map<Endpoint, PoolLease>();
  const dispatcher = (endpoint: Endpoint): Dispatcher => leases.get(endpoint)!.dispatcher();
  const probe = createEndpointProbe(route, dispatcher);
  const balancer = createBalancer(route.to, route.weights, route.lbPolicy, route.outlier, probe);
  for (const endpoint of balancer.endpoints) leases.set(endpoint, pools.lease(route, endpoint.url));
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
    lookup: createCachedLookup(route.upstreamDnsTtlMs),
    counts: (endpoint) => counts.get(endpoint),
    async close() {
      stopChecks();
      stopHealthReports?.();
      balancer.close();
      await Promise.all([...leases.values()].map((l) => l.release()));
      await own?.close();
    },
  };
}
