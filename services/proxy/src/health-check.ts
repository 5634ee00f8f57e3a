// Whether an upstream endpoint answers, and the active health checks built on it. The probe is an HTTP GET through
// the endpoint's pool: of `health_check.path` when the route has one (a 2xx/3xx within its `timeout` is a success),
// otherwise of the endpoint's base path (any answer below 500). Active checks probe every endpoint at `interval`:
// `unhealthy_threshold` failures in a row take it out of rotation, `healthy_threshold` successes bring it back. The
// balancer probes ejected endpoints with the same probe.
import type { Dispatcher } from 'undici';
import type { HealthCheckConfig, RouteConfig } from '@vallum/config';
import type { Endpoint, EndpointProbe } from './balancer.js';

/** How long a probe of a route without a health check waits for an answer, at most. */
const PROBE_TIMEOUT_MAX_MS = 5000;

export function createEndpointProbe(route: Pick<RouteConfig, 'healthCheck' | 'timeoutMs'>, dispatcher: (e: Endpoint) => Dispatcher): EndpointProbe {
  const check = route.healthCheck;
  if (check) return (endpoint) => probe(dispatcher(endpoint), check.path, check.timeoutMs, 400);
  const timeoutMs = Math.min(route.timeoutMs, PROBE_TIMEOUT_MAX_MS);
  return (endpoint) => probe(dispatcher(endpoint), `${endpoint.basePath}/`, timeoutMs, 500);
}

async function probe(dispatcher: Dispatcher, path: string, timeoutMs: number, failingStatus: number): Promise<boolean> {
  try {
    const res = await dispatcher.request({
      path,
      method: 'GET',
      headers: { 'user-agent': 'vallum-health-check' },
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
    });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < failingStatus;
  } catch {
    return false;
  }
}

export function startHealthChecks(config: HealthCheckConfig, endpoints: readonly Endpoint[], probe: EndpointProbe): () => void {
  let stopped = false;
  const streaks = new Map<Endpoint, number>(endpoints.map((e) => [e, 0]));
  const check = async (endpoint: Endpoint) => {
    const ok = await probe(endpoint);
    if (stopped) return;
    // A streak counts successes (positive) or failures (negative) in a row.
    const prev = streaks.get(endpoint) ?? 0;
    const streak = ok ? Math.max(prev, 0) + 1 : Math.min(prev, 0) - 1;
    streaks.set(endpoint, streak);
    if (ok && !endpoint.healthy && streak >= config.healthyThreshold) endpoint.healthy = true;
    if (!ok && endpoint.healthy && -streak >= config.unhealthyThreshold) endpoint.healthy = false;
  };
  const tick = () => {
    for (const e of endpoints) void check(e);
  };
  const timer = setInterval(tick, config.intervalMs);
  timer.unref();
  tick();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
