// proxy: matches the route, asks the access check (session → authorize → identity headers), and forwards.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import type { RouteConfig, VallumConfig } from '@vallum/config';
import { ErrorCodes, VallumError, isVallumError } from '@vallum/errors';
import { createServer, requestIdOf, sendPage } from '@vallum/server-kit';
import type { AuthorizeApi, CacheViewApi } from '@vallum/service-client';
import { createHandoffCodec, createSessionCookieCodec, sessionCookieOptions } from '@vallum/session';
import { createAccessCheck, type AccessRequest, type AccessResult } from './access.js';
import type { ConnectionWatch } from './connection-watch.js';
import { createAssertionSigner } from './assertion.js';
import { upstreamHeaderList, upstreamRequestHeaders } from './director.js';
import { sendError } from './error-response.js';
import { forwardWithCache } from './cached-forward.js';
import { createForwarder, type ForwardInput } from './forward.js';
import { createResponseCache, type ResponseCache } from './response-cache.js';
import { matchTarget, type TargetMatch, type TargetRefusal } from './match-target.js';
import { forbiddenPage, messagePage } from './pages.js';
import { createRouteTable } from './route-table.js';
import { createSessionResolver } from './session-resolver.js';
import { cookieSecure, registerSessionRoutes } from './session-routes.js';
import { clientAddress, createTrustCheck } from './trusted-proxies.js';
import { closeAfter, forwardUpgrade, rawResponse } from './upgrade.js';
import { rewrittenPath } from './upstream-path.js';
import { requestCookie } from './request-cookie.js';
import { framingProblem } from './request-framing.js';
import { createRequestLimits } from './request-limits.js';

export interface ProxyDeps {
  authorize: AuthorizeApi;
  cache: CacheViewApi;
  logger?: boolean;
  /** Open long-lived connections, kept by the process across reloads (see connection-watch.ts). */
  connections?: ConnectionWatch;
}

/** Larger responses stream through uncached. */
const MAX_CACHED_BODY_BYTES = 8 * 1024 * 1024;

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

const upgradeHandlers = new WeakMap<FastifyInstance, UpgradeHandler>();

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
const requestHandlers = new WeakMap<FastifyInstance, RequestHandler>();

/** The proxy app's handler for the http server's requests: forwards what it can itself, the rest via fastify. */
export function requestHandlerOf(app: FastifyInstance): RequestHandler {
  return requestHandlers.get(app) ?? ((req, res) => app.routing(req, res));
}

/** Paths that are Vallum's own on every route host, answered by fastify's routes, never forwarded. */
function ownsPath(path: string): boolean {
  return path.startsWith('/.vallum/') || path === '/.vallum' || path.startsWith('/.well-known/vallum/');
}

/** The handler for HTTP upgrades (WebSockets) of a proxy app; the http server's `upgrade` event goes here. */
export function upgradeHandlerOf(app: FastifyInstance): UpgradeHandler | undefined {
  return upgradeHandlers.get(app);
}

type RouteMatch = TargetMatch;
type Matched = TargetRefusal | TargetMatch;

/** A request the raw handler checked and handed to fastify for an answer of Vallum's own (see handleRequest). */
interface Checked {
  match: RouteMatch;
  requestId: string;
  outcome: AccessResult | { kind: 'error'; error: unknown };
}

export async function buildApp(config: VallumConfig, deps: ProxyDeps): Promise<FastifyInstance> {
  const checked = new WeakMap<IncomingMessage, Checked>();
  const app = createServer({
    service: 'proxy',
    logger: deps.logger,
    logLevel: config.logLevel,
    healthPath: '/.vallum/healthz',
    ownErrorHandler: true,
    fastify: { genReqId: (req) => checked.get(req)?.requestId ?? requestIdOf(req) },
  });
  const { authorize, cache } = deps;
  const routes = createRouteTable(config.routes);
  const cookies = createSessionCookieCodec(config.cookieSecret);
  const handoffs = createHandoffCodec(config.sharedSecret);
  const assertions = await createAssertionSigner({ signingKeyPem: config.signingKeyPem, sharedSecret: config.sharedSecret });
  const sessions = createSessionResolver({ cache, cookies, config });
  const access = createAccessCheck({ config, authorize, sessions, assertions, connections: deps.connections });
  const forwarder = createForwarder();
  const trusted = createTrustCheck(config.trustedProxies);
  const limits = createRequestLimits(config.routes);
  const caches = new Map<string, ResponseCache>();
  for (const route of config.routes) {
    forwarder.upstreams(route);
    if (route.cacheMaxBytes !== undefined) caches.set(route.id, createResponseCache(route.cacheMaxBytes));
  }
  app.addHook('onClose', async () => forwarder.close());

  // Cookies are read one by one where needed (requestCookie), not parsed for every request.
  void app.register(cookie, { hook: false });
  // Bodies are streamed to the upstream untouched, never parsed or buffered here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  app.setErrorHandler((err: Error, req, reply) => {
    if (!isVallumError(err) || err.status >= 500) req.log.error({ err }, 'proxy error');
    reply.hijack();
    sendError(reply.raw, err, req.id, req.headers.accept);
  });

  registerSessionRoutes(app, { config, cache, routes, cookies, handoffs, sessions, assertions, access });

  /** The route for a request, or why there is none. */
  const matchRoute = (raw: IncomingMessage): Matched => matchTarget(routes, (raw.headers.host ?? '').toLowerCase(), raw.url ?? '/');
  /** The access check for a matched request, shared by requests and upgrades: without a promise when warm. */
  const checkAccess = (raw: IncomingMessage, m: RouteMatch, requestId: string): AccessResult | Promise<AccessResult> => {
    const request: AccessRequest = {
      route: m.route,
      host: m.host,
      method: raw.method ?? 'GET',
      path: m.path,
      otherPaths: m.otherPaths,
      rawUrl: raw.url ?? '/',
      cookie: requestCookie(raw.headers.cookie, config.cookieName),
      authorization: raw.headers.authorization,
      headers: raw.headers,
      clientIp: clientAddress(raw.socket.remoteAddress, raw.headers['x-forwarded-for'], trusted),
      trustedPeer: trusted(raw.socket.remoteAddress),
      requestId,
    };
    return access.tryCheck(request) ?? access.check(request);
  };

  const headerInput = (raw: IncomingMessage, requestId: string, m: RouteMatch, result: AccessResult, upgrade?: string) => ({
    headers: raw.headers,
    cookieName: config.cookieName,
    clientIp: raw.socket.remoteAddress,
    trustedPeer: trusted(raw.socket.remoteAddress),
    proto: (raw.socket as TLSSocket).encrypted ? ('https' as const) : ('http' as const),
    host: m.host,
    requestId,
    identity: result.kind === 'forward' ? result.identity : undefined,
    rules: m.route,
    upgrade,
    stripHeaders: access.stripHeaders,
    dropAuthorization: result.kind === 'forward' && result.dropAuthorization === true,
  });
  /** The Host header for the upstream; undefined means the chosen upstream's own. */
  const hostFor = (route: RouteConfig, raw: IncomingMessage) => (route.preserveHostHeader ? raw.headers.host : route.hostRewrite);
  const pathFor = (route: RouteConfig, path: string, query: string) =>
    rewrittenPath(path, route.prefixRewrite === undefined ? undefined : { prefix: route.prefix, to: route.prefixRewrite }) + query;
  const hashKeyOf = (route: RouteConfig, raw: IncomingMessage) => {
    const h = route.lbHash;
    if (!h) return undefined;
    if ('header' in h) {
      const v = raw.headers[h.header.toLowerCase()];
      return Array.isArray(v) ? v.join(',') : v;
    }
    return requestCookie(raw.headers.cookie, h.cookie);
  };

  /** Answers a request whose access was checked: Vallum's own answer, or the upstream's. */
  const answer = (req: FastifyRequest, reply: FastifyReply, m: RouteMatch, result: AccessResult): void => {
    const { route, host } = m;
    if (result.kind === 'respond') {
      reply.status(result.status).headers(result.headers).send(result.body);
      return;
    }
    if (result.kind === 'sign-in') {
      if (result.clearCookie) reply.clearCookie(config.cookieName, sessionCookieOptions(cookieSecure(config, route)));
      reply.header('cache-control', 'no-store').redirect(result.location, 302);
      return;
    }
    if (result.kind === 'deny') {
      sendPage(reply, 403, forbiddenPage({ email: result.email, host, reasons: result.reasons, requestId: req.id }));
      return;
    }
    reply.hijack();
    return forwardAllowed(req.raw, reply.raw, m, result, req.id);
  };
  /** Forwards a request the access check let in; a failure before the response started gets Vallum's error page. */
  const forwardAllowed = (req: IncomingMessage, res: ServerResponse, m: RouteMatch, result: AccessResult & { kind: 'forward' }, requestId: string): void => {
    const { route } = m;
    if (route.rateLimit !== undefined || route.maxRequestBodyBytes !== undefined) {
      const refused = limits.refusal(route, req, result.user, clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted));
      if (refused) return sendError(res, refused, requestId, req.headers.accept);
    }
    result.watch?.(res);
    const fields = headerInput(req, requestId, m, result);
    const input: ForwardInput = {
      route,
      hashKey: hashKeyOf(route, req),
      path: pathFor(route, m.path, m.query),
      host: hostFor(route, req),
      req,
      body: limits.body(route, req),
      res,
      headers: upstreamHeaderList(fields),
      fields,
      requestId,
    };
    const cache = caches.get(route.id);
    if (!cache) return forwarder.send(input, upstreamFailed);
    const key = `${m.host}${m.path}${m.query}`;
    const maxEntry = Math.min(MAX_CACHED_BODY_BYTES, route.cacheMaxBytes ?? 0);
    void forwardWithCache(forwarder, { ...input, cache, key, userIdentified: !route.allowPublicUnauthenticatedAccess || result.identity !== undefined, identityNames: access.stripHeaders }, maxEntry).catch((err: unknown) =>
      upstreamFailed(err, input),
    );
  };
  const upstreamFailed = (err: unknown, input: ForwardInput) => {
    if (isVallumError(err) && err.status < 500) app.log.info({ reqId: input.requestId, code: err.code, route: input.route.id }, 'request refused');
    else app.log.warn({ reqId: input.requestId, err, route: input.route.id }, 'upstream failed');
    sendError(input.res, err, input.requestId, input.req.headers.accept);
  };

  /**
   * Requests as the http server hands them over. One the access check lets in is forwarded from here, without
   * fastify's request and reply objects; everything else (Vallum's pages and APIs, sign-in redirects, denials,
   * errors) goes through fastify, which renders the answer from the check made here (see `checked`).
   */
  const logRequests = (app.log as { isLevelEnabled?(level: string): boolean }).isLevelEnabled?.('info') === true;
  const handleRequest: RequestHandler = (req, res) => {
    const problem = framingProblem(req);
    if (problem !== undefined) return refuseFraming(req, res, problem);
    const m = matchRoute(req);
    if (m.kind === 'refuse' || ownsPath(m.path)) return app.routing(req, res);
    const requestId = requestIdOf(req);
    const settled = (outcome: Checked['outcome']) => {
      if (outcome.kind !== 'forward') {
        checked.set(req, { match: m, requestId, outcome });
        return app.routing(req, res);
      }
      if (logRequests) logCompletion(req, res, requestId);
      try {
        forwardAllowed(req, res, m, outcome, requestId);
      } catch (err) {
        // fastify would have caught it: the process must not die of one request.
        app.log.error({ reqId: requestId, err }, 'proxy error');
        sendError(res, err, requestId, req.headers.accept);
      }
    };
    let result: AccessResult | Promise<AccessResult>;
    try {
      result = checkAccess(req, m, requestId);
    } catch (error) {
      return settled({ kind: 'error', error });
    }
    if (result instanceof Promise) result.then(settled, (error: unknown) => settled({ kind: 'error', error }));
    else settled(result);
  };
  const refuseFraming = (req: IncomingMessage, res: ServerResponse, problem: string) => {
    // What else the client sent on this connection cannot be trusted to be framed as we would read it.
    res.setHeader('connection', 'close');
    sendError(res, new VallumError(ErrorCodes.REQUEST_FRAMING_INVALID, problem, { status: 400 }), requestIdOf(req), req.headers.accept);
  };
  /** What fastify's request logging would say, for requests forwarded without it. */
  const logCompletion = (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    const started = performance.now();
    // Shaped for fastify's `req` log serializer, and read now: once the client has gone, its socket forgets the address.
    const { remoteAddress: ip, remotePort } = req.socket;
    const line = { reqId: requestId, req: { method: req.method, url: req.url, host: req.headers.host, ip, socket: { remotePort } } };
    res.once('close', () => app.log.info({ ...line, res: { statusCode: res.statusCode }, responseTime: performance.now() - started }, 'request completed'));
  };
  requestHandlers.set(app, handleRequest);

  // Not async: a warm request goes from route match to the upstream without a promise of its own.
  const proxy = (req: FastifyRequest, reply: FastifyReply): void | Promise<void> => {
    const pre = checked.get(req.raw);
    if (pre) {
      if (pre.outcome.kind === 'error') throw pre.outcome.error;
      return answer(req, reply, pre.match, pre.outcome);
    }
    const m = matchRoute(req.raw);
    if (m.kind === 'refuse' || ownsPath(m.path)) {
      const refusal = m.kind === 'refuse' ? m : { status: 404, title: 'Not found', message: 'There is no such Vallum page.' };
      sendPage(reply, refusal.status, messagePage(refusal.title, refusal.message, refusal.status, req.id));
      return;
    }
    const result = checkAccess(req.raw, m, req.id);
    if (result instanceof Promise) return result.then((r) => answer(req, reply, m, r));
    return answer(req, reply, m, result);
  };

  const refuseUpgrade = (socket: Duplex, status: number, message: string) =>
    closeAfter(socket, rawResponse(status, [['content-type', 'text/plain; charset=utf-8'], ['connection', 'close']], `${message}\n`));
  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const problem = framingProblem(req);
    if (problem !== undefined) return refuseUpgrade(socket, 400, problem);
    const requestId = requestIdOf(req);
    const m = matchRoute(req);
    if (m.kind === 'refuse') return refuseUpgrade(socket, m.status, m.message);
    if (!m.route.allowWebsockets) return refuseUpgrade(socket, 400, 'Upgrades are not allowed on this route.');
    const result = await checkAccess(req, m, requestId);
    if (result.kind === 'sign-in') return refuseUpgrade(socket, 401, 'Sign in first.');
    if (result.kind === 'deny') return refuseUpgrade(socket, 403, 'Access denied.');
    if (result.kind === 'respond') return refuseUpgrade(socket, result.status, 'Unauthorized.');
    const refused = m.route.rateLimit && limits.refusal(m.route, req, result.user, clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted));
    if (refused) return refuseUpgrade(socket, refused.status, refused.message);
    // An upgraded connection obeys revocation like a long response: it is closed when the session ends or the
    // policy stops allowing it.
    result.watch?.(socket);
    const upstreams = forwarder.upstreams(m.route);
    const endpoint = upstreams.balancer.pick(hashKeyOf(m.route, req));
    if (!endpoint) return refuseUpgrade(socket, 503, 'No healthy upstream is available for this application.');
    const headers = upstreamRequestHeaders(headerInput(req, requestId, m, result, String(req.headers.upgrade ?? 'websocket')));
    headers.host = hostFor(m.route, req) ?? endpoint.host;
    const status = await forwardUpgrade(req, socket, head, {
      route: m.route,
      endpoint: endpoint.url,
      path: endpoint.basePath + pathFor(m.route, m.path, m.query),
      headers,
      lookup: upstreams.lookup,
    });
    app.log.info({ reqId: requestId, route: m.route.id, status }, 'upgrade forwarded');
  };
  upgradeHandlers.set(app, (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    upgrade(req, socket, head).catch((err: unknown) => {
      app.log.error({ err }, 'upgrade failed');
      refuseUpgrade(socket, 500, 'Something went wrong.');
    });
  });

  // /.vallum/ belongs to Vallum on every route host: an unknown page there is a 404, never forwarded to the app.
  app.all('/.vallum/*', async (req, reply) =>
    sendPage(reply, 404, messagePage('Not found', 'There is no such Vallum page.', 404, req.id)),
  );
  app.all('/', proxy);
  app.all('/*', proxy);
  return app;
}
