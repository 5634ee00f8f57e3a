// proxy: matches the route, asks the access check (session → authorize → identity headers), and forwards.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import { isVallumError } from '@vallum/errors';
import type { VallumConfig } from '@vallum/config';
import { createServer, sendPage } from '@vallum/server-kit';
import type { AuthorizeApi, CacheApi } from '@vallum/service-client';
import { createHandoffCodec, createSessionCookieCodec, sessionCookieOptions } from '@vallum/session';
import { createAccessCheck } from './access.js';
import { createAssertionSigner } from './assertion.js';
import { upstreamRequestHeaders } from './director.js';
import { createForwarder } from './forward.js';
import { normalizePath, splitPathAndQuery } from './normalize-path.js';
import { forbiddenPage, messagePage } from './pages.js';
import { createRouteTable } from './route-table.js';
import { createSessionResolver } from './session-resolver.js';
import { cookieSecure, registerSessionRoutes } from './session-routes.js';
import { upstreamPath } from './upstream-path.js';

export interface ProxyDeps {
  authorize: AuthorizeApi;
  cache: CacheApi;
  logger?: boolean;
}

export async function buildApp(config: VallumConfig, deps: ProxyDeps): Promise<FastifyInstance> {
  const app = createServer({ service: 'proxy', logger: deps.logger, logLevel: config.logLevel, healthPath: '/.vallum/healthz' });
  const { authorize, cache } = deps;
  const routes = createRouteTable(config.routes);
  const cookies = createSessionCookieCodec(config.cookieSecret);
  const handoffs = createHandoffCodec(config.sharedSecret);
  const assertions = await createAssertionSigner({ signingKeyPem: config.signingKeyPem, sharedSecret: config.sharedSecret });
  const sessions = createSessionResolver({ cache, cookies, config });
  const access = createAccessCheck({ config, authorize, sessions, assertions });
  const forwarder = createForwarder();
  app.addHook('onClose', async () => forwarder.close());

  void app.register(cookie);
  // Bodies are streamed to the upstream untouched, never parsed or buffered here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  app.setErrorHandler((err: Error, req, reply) => {
    const known = isVallumError(err);
    const status = known ? err.status : 500;
    if (status >= 500) req.log.error({ err }, 'proxy error');
    if (reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    const title = status === 502 || status === 504 ? 'Application unavailable' : status === 503 ? 'Service unavailable' : 'Request failed';
    const message = known && err.expose !== false ? err.message : 'Something went wrong.';
    if ((req.headers.accept ?? '').includes('application/json') && !(req.headers.accept ?? '').includes('text/html')) {
      return reply.status(status).send({ code: known ? err.code : 'VALLUM_INTERNAL', message, request_id: req.id });
    }
    return sendPage(reply, status, messagePage(title, message, status, req.id));
  });

  registerSessionRoutes(app, { config, cache, routes, cookies, handoffs, sessions, assertions, access });

  const proto: 'http' | 'https' = 'http';
  const proxy = async (req: FastifyRequest, reply: FastifyReply) => {
    const host = (req.headers.host ?? '').toLowerCase();
    const rawUrl = req.raw.url ?? '/';
    const { path: rawPath, query } = splitPathAndQuery(rawUrl);
    const path = normalizePath(rawPath);
    if (path === null) return sendPage(reply, 400, messagePage('Bad request', 'The request path is not valid.', 400, req.id));
    const route = routes.match(host, path);
    if (!route) return sendPage(reply, 404, messagePage('Not found', `No route is configured for ${host || 'this host'}${path}.`, 404, req.id));

    const result = await access.check({ route, host, method: req.method, path, rawUrl, cookie: req.cookies[config.cookieName], authorization: req.headers.authorization });
    if (result.kind === 'respond') return reply.status(result.status).headers(result.headers).send(result.body);
    if (result.kind === 'sign-in') {
      if (result.clearCookie) reply.clearCookie(config.cookieName, sessionCookieOptions(cookieSecure(config, route)));
      return reply.header('cache-control', 'no-store').redirect(result.location, 302);
    }
    if (result.kind === 'deny') {
      return sendPage(reply, 403, forbiddenPage({ email: result.email, host, reasons: result.reasons, requestId: req.id }));
    }

    const upstream = route.to[0]!;
    const headers = upstreamRequestHeaders({
      headers: req.headers,
      cookieName: config.cookieName,
      clientIp: req.socket.remoteAddress,
      proto,
      host,
      requestId: req.id,
      identity: result.identity,
      stripHeaders: access.stripHeaders,
    });
    headers.host = upstream.host;
    result.watch?.(reply.raw);
    reply.hijack();
    try {
      await forwarder.forward({ upstream, path: upstreamPath(upstream, path, query), req: req.raw, res: reply.raw, headers });
    } catch (err) {
      const status = isVallumError(err) ? err.status : 502;
      const message = isVallumError(err) ? err.message : 'The application is not reachable right now.';
      req.log.warn({ err, upstream: upstream.origin }, 'upstream failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-request-id': req.id });
        reply.raw.end(messagePage('Application unavailable', message, status, req.id));
      } else reply.raw.destroy();
    }
  };
  // /.vallum/ belongs to Vallum on every route host: an unknown page there is a 404, never forwarded to the app.
  app.all('/.vallum/*', async (req, reply) =>
    sendPage(reply, 404, messagePage('Not found', 'There is no such Vallum page.', 404, req.id)),
  );
  app.all('/', proxy);
  app.all('/*', proxy);
  return app;
}
