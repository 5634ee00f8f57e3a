// The one place the services are wired together: all four in one process with in-process calls, or one service
// per process talking over HTTP with service tokens. Tests start Vallum through this too.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2';
import { constants } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { VallumError, ErrorCodes } from '@vallum/errors';
import { createLogger, type VallumMetrics } from '@vallum/telemetry';
import { DEFAULT_IDP_NAME, policyVersion, secretList, type DownstreamMtlsConfig, type ServiceName, type VallumConfig } from '@vallum/config';
import { cacheView, createHttpAuthorizeClient, createHttpCacheClient, type CacheApi } from '@vallum/service-client';
import { createServiceTokenSigner } from '@vallum/service-auth';
import { createHotPathCounters, type HotPathCounters } from '@vallum/session';
import { anyProbe, createProbeResponder, createReadiness, type ProbeResponder, type Readiness } from '@vallum/server-kit';
import type * as CacheService from '@vallum/cache';
import type * as ProxyService from '@vallum/proxy';
import { parseListenAddress } from './listen-address.js';
import { startMetricsListener } from './metrics-listener.js';
import { applyServerLimits, serverLimitOptions } from './server-limits.js';
import type { GarbagePacer } from './process-memory.js';

export interface StartOptions {
  /** Overrides `services` from the config. */
  service?: ServiceName | 'all';
  /** Overrides `address` from the config (tests pass 127.0.0.1:0). */
  address?: string;
  /** Overrides `metrics_address` from the config (tests pass 127.0.0.1:0). */
  metricsAddress?: string;
  logger?: boolean;
  /** Paces young collections while few requests are in flight (the `vallum` command passes one; see process-memory.ts). */
  garbagePacer?: GarbagePacer;
  /** All-in-one without Redis, as one of several workers: the session store of the primary, in place of one here. */
  sharedCache?: CacheApi;
  /** A worker of `vallum --workers`: it counts metrics, and the primary serves them all on `metrics_address`. */
  metricsFromPrimary?: boolean;
}

export interface RunningVallum {
  service: ServiceName | 'all';
  /** The bound address, e.g. http://127.0.0.1:8000 */
  url: string;
  port: number;
  /** Counts of the costly steps on this process's request path (tests and benchmarks read them). */
  counters: HotPathCounters;
  /** What /readyz reports: the store, the IdP, peer services; failing from the first moment of a shutdown. */
  readiness: Readiness;
  /** Answers /healthz and /readyz (a metrics listener can serve them too). */
  probes: ProbeResponder;
  /** The metrics listener's bound address when `metrics_address` is set, e.g. http://127.0.0.1:9090 */
  metricsUrl: string | undefined;
  /** This process's metrics when `metrics_address` is set (a worker hands them to its primary). */
  metrics: VallumMetrics | undefined;
  /**
   * Swaps in services built from a new config, and the listener's certificate when it changed; throws (and keeps
   * what runs) when they cannot be built or the certificate and key do not load.
   */
  reload(config: VallumConfig): Promise<ReloadResult>;
  /**
   * The graceful stop (SIGTERM): readiness fails, after `drain_delay` the listener closes, requests in flight get
   * `shutdown_grace` to finish (each answered with `Connection: close`), WebSockets get a 1001 close; at the deadline
   * whatever is still open (long streams) is closed, then everything stops.
   */
  shutdown(): Promise<void>;
  /** Stops at once, closing every connection. */
  close(): Promise<void>;
}

export interface ReloadResult {
  /** Changes that need a restart, one sentence each; the running setting stays and the rest was applied. */
  notApplied: string[];
}

/**
 * How much a client connection buffers before the proxy pauses the upstream. Node's 16 KiB default is less than one
 * 64 KiB read from the upstream, so every larger response paused and resumed the upstream socket about twice (a
 * read stop and start each). 256 KiB lets a typical chunk through at once, and still bounds what a slow client holds.
 */
const SOCKET_BUFFER_BYTES = 256 * 1024;

export async function startVallum(initial: VallumConfig, options: StartOptions = {}): Promise<RunningVallum> {
  const service = options.service ?? initial.services;
  const { host, port } = parseListenAddress(options.address ?? initial.address);
  const logger = options.logger;
  // One registry for the process, kept across reloads; without metrics_address none, nothing counted, prom-client not loaded.
  const metricsAddress = options.metricsAddress ?? initial.metricsAddress;
  const metrics = metricsAddress === undefined ? undefined : (await import('@vallum/telemetry/metrics')).createMetrics({ service });
  // The session store outlives config reloads: a reload must not sign everybody out.
  const storeLog = logger === false ? undefined : createLogger({ service: 'cache', level: initial.logLevel, format: initial.logFormat });
  const sharedCache = service === 'all' ? options.sharedCache : undefined;
  const store =
    (service === 'all' && !sharedCache) || service === 'cache'
      ? (await import('@vallum/cache')).createSessionStore(initial, { log: storeLog, metrics })
      : undefined;
  // So do open long-lived connections: after a reload they are re-checked against the new policy.
  const connections = service === 'all' || service === 'proxy' ? (await import('@vallum/proxy')).createConnectionWatch() : undefined;
  // And the proxy's assertion keys: a rotated key stays in the JWKS until what it signed has expired.
  const keyRing = service === 'all' || service === 'proxy' ? (await import('@vallum/proxy')).createKeyRing() : undefined;
  const counters = createHotPathCounters();
  const goingAway = service === 'all' || service === 'proxy' ? (await import('@vallum/proxy')).sayGoingAway : undefined;
  // And the upstream pools: a reload that keeps an upstream keeps its keep-alive connections.
  const upstreamPools = service === 'all' || service === 'proxy' ? (await import('@vallum/proxy')).createUpstreamPools() : undefined;
  const stopping = new AbortController();
  const lasting: ProcessState = { store, sharedCache, connections, keyRing, upstreamPools, counters, goingAway, stopping: stopping.signal, metrics };

  let current = await buildServices(initial, { service, logger, lasting });
  let runningConfig = initial;

  // --- readiness and graceful stop (lifecycle) ---
  // The checks are those of the services this process runs, fixed at start; each asks the services in force now.
  // Why it is not ready goes to the log, once per change; the main listener's /readyz says only whether it is.
  const readinessLog = logger === false ? undefined : createLogger({ service: probeName(service), level: initial.logLevel, format: initial.logFormat });
  const readiness = createReadiness(
    Object.keys(current.checks).map((name) => ({ name, check: () => current.checks[name]!() })),
    { log: readinessLog },
  );
  const probes = probeResponder(service, readiness, () => runningConfig.authenticateServiceUrl.host.toLowerCase());
  // Open connections, so a shutdown can tell the responses in flight on them `Connection: close`. Tracked per
  // connection, not per request, so a keep-alive request costs nothing for it.
  const connected = new Set<Socket>();
  const track = (socket: Socket) => {
    connected.add(socket);
    socket.once('close', () => connected.delete(socket));
  };
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    if (readiness.draining && req.httpVersionMajor === 1) res.setHeader('connection', 'close');
    if (!probes(req, res)) current.route(req, res);
  };
  // --- end readiness and graceful stop ---

  const pacer = options.garbagePacer;
  const release = () => pacer?.release();
  const handler = pacer
    ? (req: IncomingMessage, res: ServerResponse) => {
        pacer.hold();
        // One listener for every response ('close' comes once): nothing allocated per request for it.
        res.on('close', release);
        serve(req, res);
      }
    : serve;
  const serverOptions = { highWaterMark: SOCKET_BUFFER_BYTES, ...serverLimitOptions(initial.limits) };
  // Whether the listener asks for client certificates, and with which CA and CRL; the CA and CRL follow reloads.
  // Only the proxy's listener does: the other services are called by Vallum's own services.
  const asksForCertificates = service === 'all' || service === 'proxy';
  let listenerMtls = initial.tls && asksForCertificates ? initial.downstreamMtls : undefined;
  // The https listener speaks HTTP/2 to clients that offer it (ALPN) and HTTP/1.1 to the rest; both go through
  // the same handler (node:http2's compatibility request and response).
  const server: Listener = initial.tls
    ? (createSecureServer(
        {
          ...secureContextOptions(initial.tls, listenerMtls),
          ...clientCertificateOptions(listenerMtls),
          allowHTTP1: true,
          settings: { maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS },
          ...serverOptions,
        },
        handler as unknown as Parameters<typeof createSecureServer>[1],
      ) as unknown as Listener)
    : createHttpServer(serverOptions, handler);
  // HTTP/2 sessions, so a shutdown can send GOAWAY and a close can end them.
  const sessions = new Set<Http2Session>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // keep_alive_timeout for HTTP/2: an idle session gets GOAWAY (streams still open would finish first).
    session.setTimeout(runningConfig.limits.keepAliveTimeoutMs, () => session.close());
  });
  let listenerTls = initial.tls;
  // Upgraded sockets belong to the server, not to an app: a reload sends new upgrades to the new app, old ones live on.
  // closeAllConnections() does not reach them, so they are tracked to be ended on shutdown.
  const upgraded = new Set<Duplex>();
  const upgradeSocket = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    pacer?.hold();
    socket.once('close', () => {
      upgraded.delete(socket);
      pacer?.release();
    });
    current.upgrade(req, socket, head);
  };
  server.on('upgrade', upgradeSocket);
  // CONNECT (tcp routes) leaves HTTP like an upgrade does: the proxy's upgrade handler tunnels it.
  server.on('connect', upgradeSocket);
  // A TLS socket, not the TCP one under it, carries the HTTP exchange.
  server.on(initial.tls ? 'secureConnection' : 'connection', track);
  applyServerLimits(server, initial.limits);
  if (metrics) server.on('drop', () => metrics.connectionsDropped.inc());
  // http2's server takes the sweep interval as a property, read when it starts listening.
  (server as Listener & { connectionsCheckingInterval: number }).connectionsCheckingInterval = serverOptions.connectionsCheckingInterval;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The metrics listener answers the probes at its root on every service, the proxy's included, and it alone says
  // which readiness check fails and why: operators reach it, the internet does not.
  const metricsListener =
    metrics && !options.metricsFromPrimary
      ? await startMetricsListener(metricsAddress!, metrics, {
          probes: createProbeResponder(readiness, { service: probeName(service), details: true }),
        }).catch((err: unknown) => closeServer(server, err))
      : undefined;
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const retiring = new Set<Promise<void>>();
  const closeRest = async () => {
    await metricsListener?.close();
    await current.close();
    await Promise.all([...retiring]);
    connections?.close();
    await upstreamPools?.close();
    await store?.close();
  };
  let shuttingDown: Promise<void> | undefined;
  return {
    service,
    url: `${initial.tls ? 'https' : 'http'}://${shownHost}:${bound.port}`,
    port: bound.port,
    counters,
    readiness,
    probes,
    metricsUrl: metricsListener?.url,
    metrics,
    async reload(config) {
      const notApplied: string[] = [];
      if (config.metricsAddress !== initial.metricsAddress) notApplied.push('metrics_address changed: the metrics listener stays as it is until a restart');
      const tls = config.tls;
      const mtls = listenerMtls && config.downstreamMtls;
      const mtlsChanged = mtls !== undefined && (mtls.ca !== listenerMtls!.ca || mtls.crl?.join('') !== listenerMtls!.crl?.join(''));
      const tlsChanged = tls !== undefined && listenerTls !== undefined && (tls.cert !== listenerTls.cert || tls.key !== listenerTls.key || mtlsChanged);
      if (tlsChanged) checkCertificate(secureContextOptions(tls, mtls ?? listenerMtls));
      if (listenerTls && asksForCertificates) notApplied.push(...clientCertificateRestarts(listenerMtls, config.downstreamMtls));
      if ((tls === undefined) !== (listenerTls === undefined)) {
        notApplied.push(
          tls
            ? 'certificate_file/key_file were added: the listener stays http until a restart'
            : 'certificate_file/key_file were removed: the listener stays https, with its certificate, until a restart',
        );
      }
      const next = await buildServices(config, { service, logger, lasting });
      if (tlsChanged) {
        // Handshakes from now on get the new certificate; open connections keep the one they agreed on.
        (server as unknown as Http2SecureServer).setSecureContext(secureContextOptions(tls, mtls ?? listenerMtls));
        listenerTls = tls;
        if (mtls) listenerMtls = { ...listenerMtls!, ca: mtls.ca, crl: mtls.crl };
      }
      applyServerLimits(server, config.limits);
      const previous = current;
      current = next;
      runningConfig = config;
      // In-flight requests finish on the services that accepted them; new ones already go to `next`.
      const retired = new Promise<void>((resolve) => setTimeout(resolve, RETIRE_AFTER_MS).unref()).then(() => previous.close()).catch(() => {});
      retiring.add(retired);
      void retired.finally(() => retiring.delete(retired));
      return { notApplied };
    },
    shutdown() {
      shuttingDown ??= (async () => {
        readiness.startDraining();
        const { drainDelayMs, shutdownGraceMs } = runningConfig;
        if (drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
        stopping.abort();
        await drainServer(server, { connected, upgraded, sessions, graceMs: shutdownGraceMs, goingAway: lasting.goingAway });
        await closeRest();
      })();
      return shuttingDown;
    },
    async close() {
      readiness.startDraining();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        closeAllConnections(server, connected);
        for (const session of sessions) session.destroy();
        for (const socket of upgraded) socket.destroy();
      });
      await closeRest();
    },
  };
}

// --- readiness and graceful stop (lifecycle) ---

/**
 * /healthz and /readyz where each service answers them: the proxy under /.vallum/ on every host (route hosts keep
 * their own /healthz); all-in-one there and at the root of the authenticate host; the other services at the root.
 * Anyone who reaches an app reaches these, so /readyz says ready or not ready, never why.
 */
function probeResponder(service: ServiceName | 'all', readiness: Readiness, authenticateHost: () => string): ProbeResponder {
  const own = createProbeResponder(readiness, { service: probeName(service), prefix: '/.vallum' });
  if (service === 'proxy') return own;
  if (service !== 'all') return createProbeResponder(readiness, { service });
  return anyProbe(own, createProbeResponder(readiness, { service: 'vallum', accept: (req) => (req.headers.host ?? '').toLowerCase() === authenticateHost() }));
}

/** The service the probes and the readiness log name: all-in-one is 'vallum'. */
function probeName(service: ServiceName | 'all'): string {
  return service === 'all' ? 'vallum' : service;
}

interface DrainOptions {
  connected: ReadonlySet<Socket>;
  upgraded: ReadonlySet<Duplex>;
  sessions: ReadonlySet<Http2Session>;
  graceMs: number;
  goingAway: ((socket: Duplex) => boolean) | undefined;
}

/**
 * Stops accepting connections; responses in flight finish (with `Connection: close`, so their clients do not send
 * another request on the connection), WebSockets are told 1001; what is still open at the deadline (long streams,
 * WebSockets whose peers do not close) is closed.
 *
 * A keep-alive connection that is idle is not closed at once: a load balancer may be writing a request on its pooled
 * connection at that very moment, and one that sent a non-idempotent request (a POST) cannot retry it elsewhere
 * (nginx does not), so its client would get a 502. Instead the next request on it is answered with
 * `Connection: close`, and only a connection idle for IDLE_CLOSE_MS is closed. A balancer under load takes every
 * pooled connection to this instance again within milliseconds (it round-robins to it until one fails to connect),
 * so those all close cleanly; one idle that long carries no traffic that could race the close.
 */
async function drainServer(server: Listener, options: DrainOptions): Promise<void> {
  const { connected, upgraded, sessions, graceMs, goingAway } = options;
  // net's close, not http's: http's also closes the idle keep-alive connections at once (Node ≥ 19).
  const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
  const busy = (socket: Socket) => (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  for (const socket of connected) {
    // Node's own link from a connection to the response it is writing (as http-terminator uses it).
    const res = isH2(socket) ? undefined : busy(socket);
    if (res && !res.headersSent) res.setHeader('connection', 'close');
  }
  for (const socket of upgraded) if (!goingAway?.(socket)) socket.end();
  // GOAWAY: the client opens no new stream on the session, the streams in flight finish, then it closes.
  for (const session of sessions) session.close();
  // A response whose head had gone out before the shutdown leaves its connection open and idle once sent: the sweep
  // notes when each connection was first seen idle and closes it IDLE_CLOSE_MS later, unless it was busy meanwhile.
  const idleSince = new Map<Socket, number>();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const socket of connected) {
      if (isH2(socket)) continue;
      if (busy(socket)) idleSince.delete(socket);
      else if (!idleSince.has(socket)) idleSince.set(socket, now);
      else if (now - idleSince.get(socket)! >= IDLE_CLOSE_MS) socket.destroy();
    }
  }, 100);
  let deadline: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    deadline = setTimeout(resolve, graceMs);
  });
  await Promise.race([closed, late]);
  clearInterval(sweep);
  clearTimeout(deadline);
  closeAllConnections(server, connected);
  for (const session of sessions) session.destroy();
  for (const socket of upgraded) socket.destroy();
  await closed;
}

/** The main listener: node:http's, or node:http2's secure server with HTTP/1.1 beside it (the http parts it shares). */
type Listener = ReturnType<typeof createHttpServer>;

/** Most streams one HTTP/2 client may have open at once (nghttp2's recommendation; Node's default is unbounded). */
const H2_MAX_CONCURRENT_STREAMS = 128;

function isH2(socket: Socket): boolean {
  return (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol === 'h2';
}

/** node:http2's server has no closeAllConnections: its connections (HTTP/1.1 and HTTP/2) are closed one by one. */
function closeAllConnections(server: Listener, connected: ReadonlySet<Socket>): void {
  if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
  else for (const socket of connected) socket.destroy();
}

/** How long a keep-alive connection stays idle during a shutdown before it is closed (see drainServer). */
const IDLE_CLOSE_MS = 1000;
// --- end readiness and graceful stop ---

/** Closes the main listener when the metrics listener could not start, and throws why. */
function closeServer(server: { close(cb: () => void): unknown }, err: unknown): Promise<never> {
  return new Promise((_resolve, reject) => server.close(() => reject(err)));
}

/** Throws a config error when the listener's certificate and key do not load (or do not match). */
function checkCertificate(options: SecureContextOptions): void {
  try {
    createSecureContext(options);
  } catch (cause) {
    const what = options.crl === undefined ? 'certificate_file/key_file' : 'certificate_file/key_file/downstream_mtls';
    throw new VallumError(ErrorCodes.CONFIG_INVALID, `${what}: ${(cause as Error).message}`, { status: 500, cause });
  }
}

// --- client certificates (downstream_mtls) ---

/**
 * The listener's certificate, and the CA and CRL client certificates are verified against. With client
 * certificates, TLS sessions are never resumed: a resumed session has lost the client's chain, so its depth
 * could not be checked.
 */
function secureContextOptions(tls: { cert: string; key: string }, mtls: DownstreamMtlsConfig | undefined): SecureContextOptions {
  if (!mtls) return { cert: tls.cert, key: tls.key };
  return { cert: tls.cert, key: tls.key, ca: mtls.ca, ...(mtls.crl === undefined ? {} : { crl: [...mtls.crl] }), secureOptions: constants.SSL_OP_NO_TICKET };
}

/**
 * Node asks for a certificate only when told at start; `reject_connection` lets Node end the handshake of a
 * connection without a valid one. Otherwise the proxy decides per route (client-certificate.ts in the proxy).
 */
function clientCertificateOptions(mtls: DownstreamMtlsConfig | undefined) {
  return { requestCert: mtls !== undefined, rejectUnauthorized: mtls?.enforcement === 'reject_connection' };
}

/** What a reload cannot change about client certificates on a running listener, one sentence each. */
function clientCertificateRestarts(running: DownstreamMtlsConfig | undefined, next: DownstreamMtlsConfig | undefined): string[] {
  if (!running && next) {
    return ['downstream_mtls was added: the listener asks for client certificates from a restart on; until then routes that require one answer 495'];
  }
  if (running && !next) return ['downstream_mtls was removed: the listener keeps asking for client certificates until a restart; no route requires one'];
  if (running && next && (running.enforcement === 'reject_connection') !== (next.enforcement === 'reject_connection')) {
    return [
      `downstream_mtls.enforcement changed to ${next.enforcement}: TLS handshakes ${running.enforcement === 'reject_connection' ? 'keep refusing' : 'keep accepting'} connections without a valid certificate until a restart; requests are checked as ${next.enforcement} says`,
    ];
  }
  return [];
}

// --- end client certificates ---

/** How long replaced services keep running for requests they had already accepted. */
const RETIRE_AFTER_MS = 5_000;

/** What the process keeps across reloads, made here once and handed to the services each config builds. */
interface ProcessState {
  store: CacheService.SessionStore | undefined;
  /** In place of `store`, the session store of another process (a worker's view of the primary's). */
  sharedCache: CacheApi | undefined;
  connections: ProxyService.ConnectionWatch | undefined;
  keyRing: ProxyService.KeyRing | undefined;
  upstreamPools: ProxyService.UpstreamPools | undefined;
  counters: HotPathCounters;
  /** Sends a proxied WebSocket a 1001 close (the proxy's); false for other sockets. */
  goingAway: ((socket: Duplex) => boolean) | undefined;
  /** Aborted when the listener closes for a shutdown: streams that never end by themselves end then. */
  stopping: AbortSignal;
  metrics: VallumMetrics | undefined;
}

interface BuiltServices {
  route(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Readiness checks by name: what these services need answers (store, IdP, peers). */
  checks: Record<string, () => Promise<void>>;
  close(): Promise<void>;
}

async function buildServices(
  config: VallumConfig,
  ctx: {
    service: ServiceName | 'all';
    logger: boolean | undefined;
    lasting: ProcessState;
  },
): Promise<BuiltServices> {
  const { service, logger } = ctx;
  const { store, sharedCache, connections, keyRing, upstreamPools, counters, metrics } = ctx.lasting;
  const proxyDeps = () => ({ logger, connections: connections!, keyRing: keyRing!, upstreamPools, counters, metrics });
  const signer = createServiceTokenSigner(config.sharedSecret, service);
  // The store outlives the config; its key for IdP tokens at rest follows the config (rotation, see docs/operations.md).
  store?.useTokenSecrets?.(secretList(config.tokenEncryptionSecret, config.previousTokenEncryptionSecrets));
  const remote = (name: 'authorize' | 'cache', url: URL | undefined) => {
    if (!url) {
      throw new VallumError(ErrorCodes.CONFIG_INVALID, `${name}_service_url is required to run the ${service} service on its own`, { status: 500 });
    }
    return { url: url.href, service: name, signer };
  };
  const remoteCache = (): CacheApi => createHttpCacheClient(remote('cache', config.cacheServiceUrl));

  let apps: FastifyInstance[];
  let closeProxy = async () => {};
  let route: BuiltServices['route'];
  let upgrade: BuiltServices['upgrade'] = (_req, socket) => socket.destroy();
  const checks: BuiltServices['checks'] = {};
  if (store && config.redisUrl) checks.redis = () => store.ping();
  if (sharedCache) checks.cache = () => sharedCache.ping();
  // One client per IdP for sign-in, token refresh and readiness, so each IdP's discovery happens once.
  const idps = service === 'all' || service === 'authenticate' ? (await import('@vallum/authenticate')).createOidcClients(config) : undefined;
  for (const [name, idp] of idps ?? []) checks[name === DEFAULT_IDP_NAME ? 'idp' : `idp:${name}`] = async () => void (await idp.configuration());
  // Each process loads only the services it runs: a proxy on its own never loads ioredis or openid-client, and
  // what is not loaded costs no memory (the proxy's RSS is bounded, see test/src/proxy-streaming.test.ts).
  if (service === 'all') {
    const [authorizeService, authenticateService, proxyService] = await Promise.all([
      import('@vallum/authorize'),
      import('@vallum/authenticate'),
      import('@vallum/proxy'),
    ]);
    const authorizer = authorizeService.createAuthorizer(config, {
      logger: logger === false ? undefined : createLogger({ service: 'authorize', level: config.logLevel, format: config.logFormat }),
      metrics,
    });
    const cache = sharedCache ?? store!;
    const authenticate = authenticateService.buildApp(config, { cache, idps, logger, metrics });
    const proxy = await proxyService.buildApp(config, { authorize: authorizer, cache: cacheView(cache), ...proxyDeps() });
    apps = [authenticate, proxy.pages];
    closeProxy = () => proxy.close();
    const authenticateHost = config.authenticateServiceUrl.host.toLowerCase();
    route = (req, res) => ((req.headers.host ?? '').toLowerCase() === authenticateHost ? authenticate.routing(req, res) : proxy.request(req, res));
    upgrade = (req, socket, head) => ((req.headers.host ?? '').toLowerCase() === authenticateHost ? socket.destroy() : proxy.upgrade(req, socket, head));
  } else {
    let app: FastifyInstance;
    let proxyRequest: BuiltServices['route'] | undefined;
    switch (service) {
      case 'cache':
        app = (await import('@vallum/cache')).buildApp(config, { store: store!, logger, stopping: ctx.lasting.stopping });
        break;
      case 'authorize':
        app = (await import('@vallum/authorize')).buildApp(config, { logger, metrics });
        break;
      case 'authenticate': {
        const cache = remoteCache();
        checks.cache = () => cache.ping();
        app = (await import('@vallum/authenticate')).buildApp(config, { cache, idps, logger, metrics });
        break;
      }
      case 'proxy': {
        const proxyService = await import('@vallum/proxy');
        const authorize = createHttpAuthorizeClient(remote('authorize', config.authorizeServiceUrl));
        const cache = remoteCache();
        checks.authorize = () => authorize.ping();
        checks.cache = () => cache.ping();
        const proxy = await proxyService.buildApp(config, {
          authorize: proxyService.createCachingAuthorizeClient(authorize, { policyVersion: policyVersion(config) }),
          cache: cacheView(cache),
          ...proxyDeps(),
        });
        app = proxy.pages;
        closeProxy = () => proxy.close();
        upgrade = proxy.upgrade;
        proxyRequest = proxy.request;
        break;
      }
    }
    apps = [app];
    route = proxyRequest ?? ((req, res) => app.routing(req, res));
  }
  await Promise.all(apps.map((a) => a.ready()));
  // Token refresh runs where the sessions are stored, rebuilt with each config like the services.
  const refresher =
    store &&
    (await import('@vallum/cache')).startTokenRefresher(config, store, {
      log: logger === false ? undefined : createLogger({ service: 'cache', level: config.logLevel, format: config.logFormat }),
      idps,
      metrics,
    });
  return {
    route,
    upgrade,
    checks,
    async close() {
      await Promise.all([refresher?.close(), ...apps.map((a) => a.close()), closeProxy()]);
    },
  };
}
