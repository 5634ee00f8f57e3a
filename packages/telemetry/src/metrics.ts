// Every Prometheus metric Vallum exports, in one registry made by the composition root and handed to the services
// through their deps (never prom-client's global registry). Loaded only when metrics are on (`@vallum/telemetry/metrics`):
// prom-client costs a process about 13 MB of RSS. Label values are bounded by the config: route ids,
// upstream origins, methods, status classes, reason codes; never raw paths or users.
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { TallyCounter, TallyHistogram } from './tally-metrics.js';

/** Request durations, in seconds: 1 ms to 30 s. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface MetricsOptions {
  /** The `service` label on every series: all, proxy, authenticate, authorize or cache. */
  service: string;
  /** prom-client's process and Node.js metrics (CPU, memory, GC, event-loop lag); default true. */
  defaultMetrics?: boolean;
}

/** Sets the series of a gauge at scrape time from state the caller owns; returns how to stop. */
export type GaugeSource = (set: (labels: Record<string, string>, value: number) => void) => void;

export interface VallumMetrics {
  readonly registry: Registry;
  /** Requests on routes, answered by the upstream or by Vallum (sign-in, denial, error), until the response closed. */
  readonly requests: TallyHistogram<'route' | 'method' | 'status_class'>;
  /** One upstream exchange, from dispatch until its response is complete, by upstream origin. */
  readonly upstreamRequests: TallyHistogram<'upstream'>;
  /** Failed upstream exchanges: connect, timeout, reset (no response) or 5xx. */
  readonly upstreamErrors: TallyCounter<'upstream' | 'kind'>;
  /** Policy decisions by result (allow, deny, would-deny) and first reason code. */
  readonly decisions: TallyCounter<'result' | 'reason'>;
  readonly responseCache: TallyCounter<'route' | 'result'>;
  readonly rateLimited: TallyCounter<'route'>;
  /** Requests refused with 413 by a route's max_request_body (declared or counted as the body streamed). */
  readonly bodyTooLarge: TallyCounter<'route'>;
  /** Connections closed at once because limits.max_connections sockets were already open. */
  readonly connectionsDropped: Counter;
  /** Requests authenticate refused with 429 by its per-address limits: sign_in, callback, backchannel_logout. */
  readonly authRateLimited: Counter<'endpoint'>;
  readonly signIns: Counter<'result'>;
  readonly signOuts: Counter<'kind'>;
  readonly sessionsActive: Gauge;
  readonly tokenRefreshes: Counter<'outcome'>;
  readonly storeErrors: Counter<'operation'>;
  /** Sessions the in-memory store ended to stay within cache.memory_max_sessions (or its byte bound). */
  readonly storeEvictions: Counter;
  /** 1 when an upstream endpoint takes traffic (healthy and not ejected), 0 when not. */
  readonly upstreamHealthy: Gauge<'route' | 'upstream'>;
  /** Adds series to vallum_upstream_healthy while the source is registered; returns how to remove it. */
  watchUpstreamHealth(source: GaugeSource): () => void;
  /** The text exposition of every metric. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

export function createMetrics(options: MetricsOptions): VallumMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const healthSources = new Set<GaugeSource>();
  const upstreamHealthy = new Gauge({
    name: 'vallum_upstream_healthy',
    help: 'Whether an upstream endpoint of a route takes traffic (1) or is out: failing health checks or ejected (0)',
    labelNames: ['route', 'upstream'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const source of healthSources) source((labels, value) => this.set(labels, value));
    },
  });

  return {
    registry,
    requests: new TallyHistogram(
      'vallum_http_request_duration_seconds',
      'Requests on routes until the response closed, by route id, method and status class',
      ['route', 'method', 'status_class'],
      REQUEST_BUCKETS,
    ).registerIn(registry),
    upstreamRequests: new TallyHistogram(
      'vallum_upstream_request_duration_seconds',
      'Upstream exchanges from dispatch until the response is complete, by upstream origin',
      ['upstream'],
      REQUEST_BUCKETS,
    ).registerIn(registry),
    upstreamErrors: new TallyCounter('vallum_upstream_errors_total', 'Failed upstream exchanges by upstream origin and kind (connect, timeout, reset, 5xx)', [
      'upstream',
      'kind',
    ]).registerIn(registry),
    decisions: new TallyCounter('vallum_authorize_decisions_total', 'Policy decisions by result (allow, deny, would-deny) and first reason code', [
      'result',
      'reason',
    ]).registerIn(registry),
    responseCache: new TallyCounter(
      'vallum_response_cache_requests_total',
      'Requests on routes with a response cache, by result (hit, miss, expired, revalidated)',
      ['route', 'result'],
    ).registerIn(registry),
    rateLimited: new TallyCounter('vallum_rate_limited_requests_total', 'Requests refused with 429 by a route rate limit', ['route']).registerIn(registry),
    bodyTooLarge: new TallyCounter('vallum_request_body_too_large_total', "Requests refused with 413 by a route's max_request_body", ['route']).registerIn(
      registry,
    ),
    connectionsDropped: new Counter({
      name: 'vallum_connections_dropped_total',
      help: 'Connections closed at once because limits.max_connections sockets were already open',
      registers: [registry],
    }),
    authRateLimited: new Counter({
      name: 'vallum_auth_rate_limited_requests_total',
      help: "Requests refused with 429 by authenticate's per-address limits, by endpoint: sign_in, callback, backchannel_logout",
      labelNames: ['endpoint'] as const,
      registers: [registry],
    }),
    signIns: new Counter({
      name: 'vallum_sign_ins_total',
      help: 'Sign-ins at the IdP callback, by result: success, refused (by the IdP), failed (state lost or the response not verified)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    signOuts: new Counter({
      name: 'vallum_sign_outs_total',
      help: "Sign-outs that ended a session, by kind: user (sign-out page), backchannel (the IdP's logout token)",
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    sessionsActive: new Gauge({
      name: 'vallum_sessions_active',
      help: "Sessions holding IdP tokens on the token refresher's schedule, as of its last pass",
      registers: [registry],
    }),
    tokenRefreshes: new Counter({
      name: 'vallum_token_refreshes_total',
      help: 'Token refresher outcomes per session: refreshed, checked (userinfo), ended (IdP refused), failed (retried)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'vallum_session_store_errors_total',
      help: 'Session store operations that failed, by operation',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
    storeEvictions: new Counter({
      name: 'vallum_session_store_evictions_total',
      help: 'Sessions the in-memory store ended, oldest first, to stay within its bounds (cache.memory_max_sessions)',
      registers: [registry],
    }),
    upstreamHealthy,
    watchUpstreamHealth(source) {
      healthSources.add(source);
      return () => healthSources.delete(source);
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** The metric names a registry would print, for checking dashboards against it. */
export async function metricNames(metrics: VallumMetrics): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (metric.type === ('histogram' as unknown as typeof metric.type)) for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
    if (metric.type === ('summary' as unknown as typeof metric.type)) for (const s of ['_sum', '_count']) names.add(metric.name + s);
  }
  return names;
}

/** One process's metrics in prom-client's JSON form (`registry.getMetricsAsJSON()`), to be aggregated elsewhere. */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * One exposition of several processes' metrics (`vallum --workers`: the primary and its workers), combined as
 * prom-client's cluster mode does: counters and histograms summed, each default metric by its own aggregator.
 */
export async function aggregateMetrics(snapshots: readonly MetricsSnapshot[]): Promise<{ contentType: string; body: string }> {
  const registry = AggregatorRegistry.aggregate([...snapshots]);
  return { contentType: registry.contentType, body: await registry.metrics() };
}
