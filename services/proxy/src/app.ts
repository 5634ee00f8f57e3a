// proxy: matches the route, verifies the session, asks authorize, and forwards with the verified identity.
// Every per-request step is served from in-process caches when warm: the cookie open, the session and the
// signed assertion; only authorize's decision is asked each time (in-process in all-in-one mode).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import { VallumError, ErrorCodes, isVallumError } from '@vallum/errors';
import type { RouteConfig, VallumConfig } from '@vallum/config';
import type { Identity } from '@vallum/policy';
import { createServer, sendPage } from '@vallum/server-kit';
import type { AuthorizeApi, CacheApi } from '@vallum/service-client';
import { BoundedCache, createHandoffCodec, createSessionCookieCodec, HANDOFF_TTL_SECONDS, sessionCookieOptions, type Session } from '@vallum/session';
import { createAssertionSigner } from './assertion.js';
import { upstreamRequestHeaders } from './director.js';
import { createForwarder } from './forward.js';
import { normalizePath, splitPathAndQuery } from './normalize-path.js';
import { forbiddenPage, messagePage } from './pages.js';
import { createRouteTable } from './route-table.js';
import { upstreamPath } from './upstream-path.js';

export interface ProxyDeps {
  authorize: AuthorizeApi;
  cache: CacheApi;
  logger?: boolean;
}

/** How long a session read from the cache is trusted before it is read again. */
const SESSION_CACHE_TTL_MS = 10_000;

export async function buildApp(config: VallumConfig, deps: ProxyDeps): Promise<FastifyInstance> {
  const app = createServer({ service: 'proxy', logger: deps.logger, logLevel: config.logLevel, healthPath: '/.vallum/healthz' });
  const { authorize, cache } = deps;
  const routes = createRouteTable(config.routes);
  const cookies = createSessionCookieCodec(config.cookieSecret);
  const handoffs = createHandoffCodec(config.sharedSecret);
  const assertions = await createAssertionSigner({ signingKeyPem: config.signingKeyPem, sharedSecret: config.sharedSecret });
  const sessions = new BoundedCache<string, Session>(50_000);
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

  const hostOf = (req: FastifyRequest) => (req.headers.host ?? '').toLowerCase();
  const proto: 'http' | 'https' = 'http';
  const secure = (route: RouteConfig) => config.cookieSecure ?? route.scheme === 'https';

  const sessionFor = async (req: FastifyRequest): Promise<Session | null> => {
    const value = req.cookies[config.cookieName];
    if (!value) return null;
    const ticket = await cookies.open(value);
    if (!ticket) return null;
    let session = sessions.get(ticket.sid);
    if (!session) {
      const fetched = await cache.getSession(ticket.sid);
      if (!fetched) return null;
      session = fetched;
      sessions.set(ticket.sid, session, Math.min(SESSION_CACHE_TTL_MS, session.expiresAt - Date.now()));
    }
    return session.expiresAt > Date.now() ? session : null;
  };

  const signInUrl = (req: FastifyRequest, route: RouteConfig) => {
    const url = new URL('/.vallum/sign_in', config.authenticateServiceUrl);
    url.searchParams.set('redirect_uri', `${route.from}${req.raw.url ?? '/'}`);
    return url.href;
  };

  app.get('/.well-known/vallum/jwks.json', async (_req, reply) => {
    return reply.header('cache-control', 'public, max-age=300').send(assertions.jwks());
  });

  // The route host's end of the sign-in hand-off: verify, burn the one-time id, set this host's cookie.
  app.get<{ Querystring: { vallum_handoff?: string } }>('/.vallum/callback', async (req, reply) => {
    const host = hostOf(req);
    const route = routes.match(host, '/') ?? config.routes.find((r) => r.host === host);
    if (!route) return sendPage(reply, 404, messagePage('Not found', `No route is configured for ${host}.`, 404, req.id));
    const handoff = await handoffs.verify(req.query.vallum_handoff ?? '', route.from);
    if (!(await cache.claimOnce(`handoff:${handoff.jti}`, HANDOFF_TTL_SECONDS * 2))) {
      throw new VallumError(ErrorCodes.HANDOFF_INVALID, 'This sign-in link was already used. Please open the application again.', { status: 400 });
    }
    const session = await cache.getSession(handoff.sid);
    if (!session) throw new VallumError(ErrorCodes.SESSION_NOT_FOUND, 'Your session has ended. Please sign in again.', { status: 400 });
    const target = new URL(handoff.redirectUri);
    if (target.origin !== route.from) throw new VallumError(ErrorCodes.REDIRECT_NOT_ALLOWED, 'Invalid return address.', { status: 400 });
    const value = await cookies.seal({ sid: session.id, expiresAt: session.expiresAt });
    reply.setCookie(config.cookieName, value, sessionCookieOptions(secure(route), (session.expiresAt - Date.now()) / 1000));
    return reply.header('cache-control', 'no-store').redirect(target.href, 302);
  });

  const signOut = async (req: FastifyRequest, reply: FastifyReply) => {
    const host = hostOf(req);
    const route = config.routes.find((r) => r.host === host);
    const value = req.cookies[config.cookieName];
    const ticket = value ? await cookies.open(value) : null;
    reply.clearCookie(config.cookieName, sessionCookieOptions(route ? secure(route) : false));
    const next = new URL('/.vallum/sign_out', config.authenticateServiceUrl);
    if (route) next.searchParams.set('redirect_uri', `${route.from}/`);
    if (ticket) {
      sessions.delete(ticket.sid);
      cookies.forget(ticket.sid);
      assertions.forget(ticket.sid);
      // authenticate ends the session server-side and at the IdP (it needs the session's ID token for that), so
      // it is told which session this host had, in a signed token only authenticate accepts.
      const token = await handoffs.sign({
        sid: ticket.sid,
        audience: config.authenticateServiceUrl.origin,
        redirectUri: route ? `${route.from}/` : config.authenticateServiceUrl.href,
        sessionExpiresAt: ticket.expiresAt,
      });
      next.searchParams.set('sign_out_token', token);
    }
    return reply.header('cache-control', 'no-store').redirect(next.href, 302);
  };
  app.get('/.vallum/sign_out', signOut);
  app.post('/.vallum/sign_out', signOut);

  const proxy = async (req: FastifyRequest, reply: FastifyReply) => {
    const host = hostOf(req);
    const { path: rawPath, query } = splitPathAndQuery(req.raw.url ?? '/');
    const path = normalizePath(rawPath);
    if (path === null) return sendPage(reply, 400, messagePage('Bad request', 'The request path is not valid.', 400, req.id));
    const route = routes.match(host, path);
    if (!route) return sendPage(reply, 404, messagePage('Not found', `No route is configured for ${host || 'this host'}${path}.`, 404, req.id));

    let identityHeaders;
    if (!route.allowPublicUnauthenticatedAccess) {
      const session = await sessionFor(req);
      if (!session) {
        if (req.cookies[config.cookieName]) reply.clearCookie(config.cookieName, sessionCookieOptions(secure(route)));
        return reply.header('cache-control', 'no-store').redirect(signInUrl(req, route), 302);
      }
      const identity: Identity = { sub: session.sub, email: session.email, groups: session.groups, claims: session.claims };
      const decision = await authorize.evaluate({ routeId: route.id, identity, request: { method: req.method, host, path } });
      if (!decision.allow) {
        return sendPage(reply, 403, forbiddenPage({ email: session.email, host, reasons: decision.reasons, requestId: req.id }));
      }
      if (route.passIdentityHeaders) {
        identityHeaders = { email: session.email, groups: session.groups, assertion: await assertions.assertionFor(session, host) };
      }
    }

    const upstream = route.to[0]!;
    const headers = upstreamRequestHeaders({
      headers: req.headers,
      cookieName: config.cookieName,
      clientIp: req.socket.remoteAddress,
      proto,
      host,
      requestId: req.id,
      identity: identityHeaders,
    });
    headers.host = upstream.host;
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
