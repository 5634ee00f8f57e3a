// Active HTTP health checks: every endpoint is probed at `interval`; `unhealthy_threshold` failures in a row take
// it out of rotation, `healthy_threshold` successes bring it back. A 2xx/3xx answer within `timeout` is a success.
import type { Dispatcher } from 'undici';
import type { HealthCheckConfig } from '@vallum/config';
import type { Endpoint } from './balancer.js';

export function startHealthChecks(config: HealthCheckConfig, endpoints: readonly Endpoint[], dispatcher: (e: Endpoint) => Dispatcher): () => void {
  let stopped = false;
  const streaks = new Map<Endpoint, number>(endpoints.map((e) => [e, 0]));
  const probe = async (endpoint: Endpoint) => {
    let ok = false;
    try {
      const res = await dispatcher(endpoint).request({
        path: config.path,
        method: 'GET',
        headers: { 'user-agent': 'vallum-health-check' },
        signal: AbortSignal.timeout(config.timeoutMs),
        headersTimeout: config.timeoutMs,
      });
      await res.body.dump();
      ok = res.statusCode >= 200 && res.statusCode < 400;
    } catch {
      ok = false;
    }
    if (stopped) return;
    // A streak counts successes (positive) or failures (negative) in a row.
    const prev = streaks.get(endpoint) ?? 0;
    const streak = ok ? Math.max(prev, 0) + 1 : Math.min(prev, 0) - 1;
    streaks.set(endpoint, streak);
    if (ok && !endpoint.healthy && streak >= config.healthyThreshold) endpoint.healthy = true;
    if (!ok && endpoint.healthy && -streak >= config.unhealthyThreshold) endpoint.healthy = false;
  };
  const tick = () => {
    for (const e of endpoints) void probe(e);
  };
  const timer = setInterval(tick, config.intervalMs);
  timer.unref();
  tick();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
