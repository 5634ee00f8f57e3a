// The one place the services are wired together: all four in one process with in-process calls, or one service
// per process talking over HTTP with service tokens. Tests start Vallum through this too.
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { VallumError, ErrorCodes } from '@vallum/errors';
import { createLogger } from '@vallum/telemetry';
import type { ServiceName, VallumConfig } from '@vallum/config';
import { createHttpAuthorizeClient, createHttpCacheClient, type CacheApi } from '@vallum/service-client';
import { createServiceTokenSigner } from '@vallum/service-auth';
import * as cacheService from '@vallum/cache';
import * as authorizeService from '@vallum/authorize';
import * as authenticateService from '@vallum/authenticate';
import * as proxyService from '@vallum/proxy';
import { parseListenAddress } from './listen-address.js';

export interface StartOptions {
  /** Overrides `services` from the config. */
  service?: ServiceName | 'all';
  /** Overrides `address` from the config (tests pass 127.0.0.1:0). */
  address?: string;
  logger?: boolean;
}

export interface RunningVallum {
  service: ServiceName | 'all';
  /** The bound address, e.g. http://127.0.0.1:8000 */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startVallum(config: VallumConfig, options: StartOptions = {}): Promise<RunningVallum> {
  const service = options.service ?? config.services;
  const { host, port } = parseListenAddress(options.address ?? config.address);
  const logger = options.logger;
  const closers: Array<() => Promise<void>> = [];
  const signer = createServiceTokenSigner(config.sharedSecret, service);
  const remote = (name: 'authorize' | 'cache', url: URL | undefined) => {
    if (!url) {
      throw new VallumError(ErrorCodes.CONFIG_INVALID, `${name}_service_url is required to run the ${service} service on its own`, { status: 500 });
    }
    return { url: url.href, service: name, signer };
  };
  const remoteCache = (): CacheApi => createHttpCacheClient(remote('cache', config.cacheServiceUrl));

  let server: Server;
  let apps: FastifyInstance[];
  if (service === 'all') {
    const store = cacheService.createSessionStore(config);
    closers.push(() => store.close());
    const authorizer = authorizeService.createAuthorizer(config, {
      logger: logger === false ? undefined : createLogger({ service: 'authorize', level: config.logLevel }),
    });
    const authenticate = authenticateService.buildApp(config, { cache: store, logger });
    const proxy = await proxyService.buildApp(config, { authorize: authorizer, cache: store, logger });
    apps = [authenticate, proxy];
    const authenticateHost = config.authenticateServiceUrl.host.toLowerCase();
    server = createHttpServer((req, res) => {
      const target = (req.headers.host ?? '').toLowerCase() === authenticateHost ? authenticate : proxy;
      target.routing(req, res);
    });
  } else {
    let app: FastifyInstance;
    switch (service) {
      case 'cache': {
        const store = cacheService.createSessionStore(config);
        closers.push(() => store.close());
        app = cacheService.buildApp(config, { store, logger });
        break;
      }
      case 'authorize':
        app = authorizeService.buildApp(config, { logger });
        break;
      case 'authenticate':
        app = authenticateService.buildApp(config, { cache: remoteCache(), logger });
        break;
      case 'proxy':
        app = await proxyService.buildApp(config, {
          authorize: createHttpAuthorizeClient(remote('authorize', config.authorizeServiceUrl)),
          cache: remoteCache(),
          logger,
        });
        break;
    }
    apps = [app];
    server = createHttpServer((req, res) => app.routing(req, res));
  }
  await Promise.all(apps.map((a) => a.ready()));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    service,
    url: `http://${shownHost}:${bound.port}`,
    port: bound.port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all(apps.map((a) => a.close()));
      for (const close of closers) await close();
    },
  };
}
