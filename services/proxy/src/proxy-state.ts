// Everything the proxy reads to answer a request, built from one config: the route table, the upstream pools, the
// access check, the response caches, the limits. A reload builds a new state and the composition root swaps one
// reference; a request in flight keeps the state it started with. What must outlive a reload (the session store,
// the connection watch, the key ring, the counters) is made by the composition root and passed in.
import { secretList, type VallumConfig } from '@vallum/config';
import type { VallumMetrics } from '@vallum/telemetry';
import type { AuthorizeApi, CacheViewApi } from '@vallum/service-client';
import { createOtlpSpanExporter, createTraceStarter, type SpanExporter, type TraceStarter } from '@vallum/telemetry';
import { createHandoffCodec, createSessionCookieCodec, type HandoffCodec, type HotPathCounters, type SessionCookieCodec } from '@vallum/session';
import { createAccessCheck, type AccessCheck } from './access.js';
import { createAssertionSigner, type AssertionSigner, type KeyRing } from './assertion.js';
import { createClientCertificates, type ClientCertificates } from './client-certificate.js';
import type { ConnectionWatch } from './connection-watch.js';
import { createHeaderMemo, type HeaderMemo } from './director.js';
import { createForwarder, type Forwarder } from './forward.js';
import { createRequestLimits, type RequestLimits } from './request-limits.js';
import { createResponseCache, type ResponseCache } from './response-cache.js';
import { createRouteMetrics, type RouteMetrics } from './route-metrics.js';
import { createRouteTable, type RouteTable } from './route-table.js';
import { createSessionResolver, type SessionResolver } from './session-resolver.js';
import { createPostKeeper, type PostKeeper } from './preserve-post.js';
import { tracedAuthorize } from './traced-authorize.js';
import { createTrustCheck, type TrustCheck } from './trusted-proxies.js';
import { createUpstreamPools, type UpstreamPools } from './upstream-pools.js';

export interface ProxyStateDeps {
  authorize: AuthorizeApi;
  cache: CacheViewApi;
  /** Open long-lived connections, kept by the process across reloads (see connection-watch.ts). */
  connections: ConnectionWatch;
  /** The assertion signing keys, kept by the process across reloads so a rotated key stays in the JWKS. */
  keyRing: KeyRing;
  /** Counts of the costly steps on the request path, kept by the process. */
  counters: HotPathCounters;
  /** The process's metrics registry, kept across reloads; undefined when metrics are off. */
  metrics?: VallumMetrics | undefined;
  /** The process's upstream pools, kept across reloads; without them the state has pools of its own. */
  upstreamPools?: UpstreamPools | undefined;
}

export interface ProxyState {
  readonly config: VallumConfig;
  readonly routes: RouteTable;
  readonly cache: CacheViewApi;
  readonly cookies: SessionCookieCodec;
  readonly handoffs: HandoffCodec;
  readonly assertions: AssertionSigner;
  readonly sessions: SessionResolver;
  readonly access: AccessCheck;
  /** The upstream pools of every route, and the one way to open an exchange with them. */
  readonly forwarder: Forwarder;
  readonly trusted: TrustCheck;
  readonly limits: RequestLimits;
  /** Response caches by route id, for routes with `cache_max_bytes`. */
  readonly caches: ReadonlyMap<string, ResponseCache>;
  /** The director's work kept between requests (header plans of routes, header lines of identities). */
  readonly headerMemo: HeaderMemo;
  /** Metric children by route id, resolved once here; empty when metrics are off. */
  readonly routeMetrics: ReadonlyMap<string, RouteMetrics>;
  /** Continues a trusted caller's trace or starts one, for each request. */
  readonly traces: TraceStarter;
  /** Form posts kept through a sign-in (`preserve_post`). */
  readonly posts: PostKeeper;
  /** Where sampled requests' spans go (`tracing.otlp_endpoint`); undefined when tracing is off. */
  readonly spans: SpanExporter | undefined;
  /** The client certificate of a connection (downstream_mtls), and which routes refuse to go without one. */
  readonly clientCertificates: ClientCertificates;
}

export async function createProxyState(config: VallumConfig, deps: ProxyStateDeps): Promise<ProxyState> {
  const { cache, connections, counters } = deps;
  // Without an exporter nothing records a span: new traces are not marked sampled.
  const traces = createTraceStarter({ sampleRatio: config.tracing.otlpEndpoint ? config.tracing.sampleRatio : 0 });
  const spans = config.tracing.otlpEndpoint ? await createOtlpSpanExporter({ endpoint: config.tracing.otlpEndpoint, service: 'vallum-proxy' }) : undefined;
  const authorize = spans ? tracedAuthorize(deps.authorize, traces, spans) : deps.authorize;
  const cookies = createSessionCookieCodec(secretList(config.cookieSecret, config.previousCookieSecrets), { counters });
  const assertions = await createAssertionSigner({
    signingKeyPem: config.signingKeyPem,
    sharedSecret: config.sharedSecret,
    previousSigningKeyPems: config.previousSigningKeyPems,
    previousSharedSecrets: config.previousSharedSecrets,
    keyRing: deps.keyRing,
    counters,
  });
  const sessions = createSessionResolver({ cache, cookies, config, counters });
  sessions.onChange((sid) => assertions.forget(sid));
  const forwarder = createForwarder({ metrics: deps.metrics, pools: deps.upstreamPools ?? createUpstreamPools(), ownsPools: !deps.upstreamPools });
  const caches = new Map<string, ResponseCache>();
  for (const route of config.routes) {
    if (route.tcp) continue;
    forwarder.upstreams(route);
    if (route.cacheMaxBytes !== undefined) caches.set(route.id, createResponseCache(route.cacheMaxBytes));
  }
  const routeMetrics = createRouteMetrics(deps.metrics, config.routes);
  return Object.freeze({
    config,
    routes: createRouteTable(config.routes),
    cache,
    cookies,
    handoffs: createHandoffCodec(secretList(config.sharedSecret, config.previousSharedSecrets)),
    assertions,
    sessions,
    access: createAccessCheck({ config, authorize, sessions, cache, assertions, connections, counters }),
    forwarder,
    trusted: createTrustCheck(config.trustedProxies),
    limits: createRequestLimits(config.routes, routeMetrics),
    caches,
    headerMemo: createHeaderMemo(),
    routeMetrics,
    traces,
    spans,
    posts: createPostKeeper(config, cache),
    clientCertificates: createClientCertificates(config.downstreamMtls),
  });
}

/** Stops what the state runs (upstream pools, session change listeners); the process-lifetime parts stay. */
export async function closeProxyState(state: ProxyState): Promise<void> {
  state.sessions.close();
  state.access.close();
  await state.forwarder.close();
  await state.spans?.close();
}
