// What the proxy counts per route, with every metric child resolved once when the state is built: on the request
// path a count is a Map lookup by route id and a field increment (see @vallum/telemetry's tally-metrics.ts).
import type { RouteConfig } from '@vallum/config';
import { routeRequestRecorder, type CounterChild, type HistogramChild, type RouteRequestRecorder, type VallumMetrics } from '@vallum/telemetry';

export interface CacheCounts {
  hit: CounterChild;
  miss: CounterChild;
  expired: CounterChild;
  revalidated: CounterChild;
}

export interface RouteMetrics {
  readonly requests: RouteRequestRecorder;
  readonly rateLimited: CounterChild;
  readonly bodyTooLarge: CounterChild;
  /** Only on routes with a response cache. */
  readonly cache: CacheCounts | undefined;
}

/** Route id → its metrics; empty when the process has no metrics (nothing is then counted). */
export function createRouteMetrics(metrics: VallumMetrics | undefined, routes: readonly RouteConfig[]): ReadonlyMap<string, RouteMetrics> {
  const byRoute = new Map<string, RouteMetrics>();
  if (!metrics) return byRoute;
  for (const { id, cacheMaxBytes } of routes) {
    const cacheResult = (result: string) => metrics.responseCache.child({ route: id, result });
    byRoute.set(id, {
      requests: routeRequestRecorder(metrics, id),
      rateLimited: metrics.rateLimited.child({ route: id }),
      bodyTooLarge: metrics.bodyTooLarge.child({ route: id }),
      cache:
        cacheMaxBytes === undefined
          ? undefined
          : { hit: cacheResult('hit'), miss: cacheResult('miss'), expired: cacheResult('expired'), revalidated: cacheResult('revalidated') },
    });
  }
  return byRoute;
}

/** One upstream endpoint's latency and errors, by its origin. */
export interface UpstreamCounts {
  duration: HistogramChild;
  connect: CounterChild;
  timeout: CounterChild;
  reset: CounterChild;
  status5xx: CounterChild;
}

export function upstreamCounts(metrics: VallumMetrics, origin: string): UpstreamCounts {
  const error = (kind: string) => metrics.upstreamErrors.child({ upstream: origin, kind });
  return {
    duration: metrics.upstreamRequests.child({ upstream: origin }),
    connect: error('connect'),
    timeout: error('timeout'),
    reset: error('reset'),
    status5xx: error('5xx'),
  };
}
