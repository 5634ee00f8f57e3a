// The one place the services are wired together: all four in one process with in-process calls, or one service
// per process talking over HTTP with service tokens. Tests start Vallum through this too.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { VallumError, ErrorCodes } from '@vallum/errors';
import { createLogger } from '@vallum/telemetry';
import { policyVersion, type ServiceName, type VallumConfig } from '@vallum/config';
import { cacheView, createHttpAuthorizeClient, createHttpCacheClient, type CacheApi } from '@vallum/service-client';
import { createServiceTokenSigner } from '@vallum/service-auth';
import { createHotPathCounters, type HotPathCounters } from '@vallum/session';
import type * as CacheService from '@vallum/cache';
import type * as ProxyService from '@vallum/proxy';
import { parseListenAddress } from './listen-address.js';
import { applyServerLimits, serverLimitOptions } from './server-limits.js';
import type { GarbagePacer } from './process-memory.js';

export interface StartOptions {
  /** Overrides `services` from the config. */
  service?: ServiceName | 'all';
  /** Overrides `address` from the config (tests pass 127.0.0.1:0). */
  address?: string;
  logger?: boolean;
  /** Paces young collections while few requests are in flight (the `vallum` command passes one; see process-memory.ts). */
  garbagePacer?: GarbagePacer;
  /** All-in-one without Redis, as one of several workers: the session store of the primary, in place of one here. */
  sharedCache?: CacheApi;
}

export interface RunningVallum {
  service: ServiceName | 'all';
  /** The bound address, e.g. http://127.0.0.1:8000 */
  url: string;
  port: number;
  /** Counts of the costly steps on this process's request path (tests and benchmarks read them). */
  counters: HotPathCounters;
  /**
   * Swaps in services built from a new config, and the listener's certificate when it changed; throws (and keeps
   * what runs) when they cannot be built or the certificate and key do not load.
   */
  reload(config: VallumConfig): Promise<ReloadResult>;
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
  // The session store outlives config reloads: a reload must not sign everybody out.
  const storeLog = logger === false ? undefined : createLogger({ service: 'cache', level: initial.logLevel });
  const sharedCache = service === 'all' ? options.sharedCache : undefined;
  const store =
    (service === 'all' && !sharedCache) || service === 'cache' ? (await import('@vallum/cache')).createSessionStore(initial, { log: storeLog }) : undefined;
  // So do open long-lived connections: after a reload they are re-checked against the new policy.
  const connections = service === 'all' || service === 'proxy' ? (await import('@vallum/proxy')).createConnectionWatch() : undefined;
  // And the proxy's assertion keys: a rotated key stays in the JWKS until what it signed has expired.
  const keyRing = service === 'all' || service === 'proxy' ? (await import('@vallum/proxy')).createKeyRing() : undefined;
  const counters = createHotPathCounters();
  const lasting: ProcessState = { store, sharedCache, connections, keyRing, counters };

  let current = await buildServices(initial, { service, logger, lasting });
  const pacer = options.garbagePacer;
  const release = () => pacer?.release();
  const handler = pacer
    ? (req: IncomingMessage, res: ServerResponse) => {
        pacer.hold();
        // One listener for every response ('close' comes once): nothing allocated per request for it.
        res.on('close', release);
        current.route(req, res);
      }
    : (req: IncomingMessage, res: ServerResponse) => current.route(req, res);
  const serverOptions = { highWaterMark: SOCKET_BUFFER_BYTES, ...serverLimitOptions(initial.limits) };
  const server = initial.tls
    ? createHttpsServer({ cert: initial.tls.cert, key: initial.tls.key, ...serverOptions }, handler)
    : createHttpServer(serverOptions, handler);
  let listenerTls = initial.tls;
  // Upgraded sockets belong to the server, not to an app: a reload sends new upgrades to the new app, old ones live on.
  // closeAllConnections() does not reach them, so they are tracked to be ended on shutdown.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    pacer?.hold();
    socket.once('close', () => {
      upgraded.delete(socket);
      pacer?.release();
    });
    current.upgrade(req, socket, head);
  });
  applyServerLimits(server, initial.limits);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const retiring = new Set<Promise<void>>();
  return {
    service,
    url: `${initial.tls ? 'https' : 'http'}://${shownHost}:${bound.port}`,
    port: bound.port,
    counters,
    async reload(config) {
      const notApplied: string[] = [];
      const tls = config.tls;
      const tlsChanged = tls !== undefined && listenerTls !== undefined && (tls.cert !== listenerTls.cert || tls.key !== listenerTls.key);
      if (tlsChanged) checkCertificate(tls);
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
        (server as HttpsServer).setSecureContext({ cert: tls.cert, key: tls.key });
        listenerTls = tls;
      }
      applyServerLimits(server, config.limits);
      const previous = current;
      current = next;
      // In-flight requests finish on the services that accepted them; new ones already go to `next`.
      const retired = new Promise<void>((resolve) => setTimeout(resolve, RETIRE_AFTER_MS).unref()).then(() => previous.close()).catch(() => {});
      retiring.add(retired);
      void retired.finally(() => retiring.delete(retired));
      return { notApplied };
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
      });
      await current.close();
      await Promise.all([...retiring]);
      connections?.close();
      await store?.close();
    },
  };
}

/** Throws a config error when the listener's certificate and key do not load (or do not match). */
function checkCertificate(tls: { cert: string; key: string }): void {
  try {
    createSecureContext({ cert: tls.cert, key: tls.key });
  } catch (cause) {
    throw new VallumError(ErrorCodes.CONFIG_INVALID, `certificate_file/key_file: ${(cause as Error).message}`, { status: 500, cause });
  }
}

/** How long replaced services keep running for requests they had already accepted. */
const RETIRE_AFTER_MS = 5_000;

/** What the process keeps across reloads, made here once and handed to the services each config builds. */
interface ProcessState {
  store: CacheService.SessionStore | undefined;
  /** In place of `store`, the session store of another process (a worker's view of the primary's). */
  sharedCache: CacheApi | undefined;
  connections: ProxyService.ConnectionWatch | undefined;
  keyRing: ProxyService.KeyRing | undefined;
  counters: HotPathCounters;
}

interface BuiltServices {
  route(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
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
  const { store, sharedCache, connections, keyRing, counters } = ctx.lasting;
  const proxyDeps = () => ({ logger, connections: connections!, keyRing: keyRing!, counters });
  const signer = createServiceTokenSigner(config.sharedSecret, service);
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
  // Each process loads only the services it runs: a proxy on its own never loads ioredis or openid-client, and
  // what is not loaded costs no memory (the proxy's RSS is bounded, see test/src/proxy-streaming.test.ts).
  if (service === 'all') {
    const [authorizeService, authenticateService, proxyService] = await Promise.all([
      import('@vallum/authorize'),
      import('@vallum/authenticate'),
      import('@vallum/proxy'),
    ]);
    const authorizer = authorizeService.createAuthorizer(config, {
      logger: logger === false ? undefined : createLogger({ service: 'authorize', level: config.logLevel }),
    });
    const cache = sharedCache ?? store!;
    const authenticate = authenticateService.buildApp(config, { cache, logger });
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
        app = (await import('@vallum/cache')).buildApp(config, { store: store!, logger });
        break;
      case 'authorize':
        app = (await import('@vallum/authorize')).buildApp(config, { logger });
        break;
      case 'authenticate':
        app = (await import('@vallum/authenticate')).buildApp(config, { cache: remoteCache(), logger });
        break;
      case 'proxy': {
        const proxyService = await import('@vallum/proxy');
        const proxy = await proxyService.buildApp(config, {
          authorize: proxyService.createCachingAuthorizeClient(createHttpAuthorizeClient(remote('authorize', config.authorizeServiceUrl)), {
            policyVersion: policyVersion(config),
          }),
          cache: cacheView(remoteCache()),
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
      log: logger === false ? undefined : createLogger({ service: 'cache', level: config.logLevel }),
    });
  return {
    route,
    upgrade,
    async close() {
      refresher?.close();
      await Promise.all([...apps.map((a) => a.close()), closeProxy()]);
    },
  };
}
