// A route's upstreams: the balancer, one undici Pool per endpoint (with the route's connect timeout and TLS
// settings) and the active health checker. Built with the proxy app and closed with it, so a reload starts fresh.
import { Pool } from './undici-pool.js';
import type { RouteConfig } from '@vallum/config';
import { createBalancer, type Balancer, type Endpoint } from './balancer.js';
import { startHealthChecks } from './health-check.js';

export interface RouteUpstreams {
  balancer: Balancer;
  pool(endpoint: Endpoint): Pool;
  close(): Promise<void>;
}

export function createRouteUpstreams(route: RouteConfig): RouteUpstreams {
  const balancer = createBalancer(route.to, route.weights, route.lbPolicy, route.outlier);
  const tls = route.upstreamTls;
  const pools = new Map<Endpoint, Pool>();
  for (const endpoint of balancer.endpoints) {
    pools.set(
      endpoint,
      new Pool(endpoint.url.origin, {
        connections: 256,
        pipelining: 1,
        // Idle connections are recycled, so a changed DNS answer is picked up within this long.
        keepAliveMaxTimeout: 30_000,
        connect: {
          timeout: route.connectTimeoutMs,
          ...(endpoint.url.protocol === 'https:'
            ? { ca: tls.ca, rejectUnauthorized: !tls.skipVerify, cert: tls.cert, key: tls.key, servername: endpoint.url.hostname }
            : {}),
        },
      }),
    );
  }
  const pool = (endpoint: Endpoint) => pools.get(endpoint)!;
  const stopChecks = route.healthCheck ? startHealthChecks(route.healthCheck, balancer.endpoints, pool) : () => {};
  return {
    balancer,
    pool,
    async close() {
      stopChecks();
      await Promise.all([...pools.values()].map((p) => p.close()));
    },
  };
}
