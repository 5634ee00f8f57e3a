// The proxy's data plane, one request from socket to upstream:
//   framing (request-framing.ts) → match (match-target.ts) → Vallum's own paths to own-pages.ts
//   → check (access-request.ts, access.ts) → forward (forward-allowed.ts, forward.ts) | respond (respond.ts).
// Everything is read from one ProxyState snapshot (proxy-state.ts); a reload hands new requests a new handler.
// A warm request goes from the socket to the upstream without a promise: the check answers synchronously when
// in-process copies hold the answer (tryCheck), and only then falls back to the asynchronous check.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { ErrorCodes, VallumError, isVallumError } from '@vallum/errors';
import { requestIdOf } from '@vallum/server-kit';
import { errorFields, errorKey, type RepeatedLog, type RouteRequestRecorder } from '@vallum/telemetry';
import type { AccessResult } from './access.js';
import { accessRequestOf } from './access-request.js';
import { forwardAllowed, forwardAllowedUpgrade } from './forward-allowed.js';
import type { ForwardInput } from './forward.js';
import { matchTarget, type TargetMatch } from './match-target.js';
import { isOwnPath, rawPathOf } from './own-path.js';
import type { ProxyState } from './proxy-state.js';
import { framingProblem } from './request-framing.js';
import { respondError, respondRefusal, respondToCheck } from './respond.js';
import { closeAfter, rawResponse } from './upgrade.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface ProxyHandler {
  request: RequestHandler;
  upgrade: UpgradeHandler;
}

export interface ProxyHandlerOptions {
  /** Answers Vallum's own paths (/.vallum/*, /.well-known/vallum/*): the own-pages app. */
  ownPages: RequestHandler;
  log: FastifyBaseLogger;
  /** Where errors that repeat per request (an upstream or the session store down) are written, once per interval. */
  errors: RepeatedLog;
}

export function createProxyHandler(state: ProxyState, options: ProxyHandlerOptions): ProxyHandler {
  const { ownPages, log, errors } = options;
  const logRequests = (log as { isLevelEnabled?(level: string): boolean }).isLevelEnabled?.('info') === true;

  const request: RequestHandler = (req, res) => {
    const problem = framingProblem(req);
    if (problem !== undefined) return refuseFraming(req, res, problem);
    const m = matchTarget(state.routes, (req.headers.host ?? '').toLowerCase(), req.url ?? '/');
    if (m.kind === 'refuse') {
      if (isOwnPath(rawPathOf(req.url ?? '/'))) return ownPages(req, res);
      return respondRefusal(res, m, requestIdOf(req), req.headers.accept);
    }
    if (isOwnPath(m.path)) return ownPages(req, res);
    const requestId = requestIdOf(req);
    if (logRequests) logCompletion(req, res, requestId);
    const counted = state.routeMetrics.get(m.route.id);
    if (counted !== undefined) countCompletion(req, res, counted.requests);
    const check = accessRequestOf(state, req, m, requestId);
    let warm: AccessResult | undefined;
    try {
      warm = state.access.tryCheck(check);
    } catch (err) {
      return checkFailed(req, res, err, requestId);
    }
    if (warm !== undefined) return answer(req, res, m, warm, requestId);
    state.access.check(check).then(
      (result) => answer(req, res, m, result, requestId),
      (err: unknown) => checkFailed(req, res, err, requestId),
    );
  };

  /** Forward, or Vallum's own answer. */
  const answer = (req: IncomingMessage, res: ServerResponse, m: TargetMatch, result: AccessResult, requestId: string): void => {
    try {
      if (result.kind !== 'forward') return respondToCheck(state, res, m, result, requestId, req.headers.accept);
      const refused = forwardAllowed(state, req, res, m, result, requestId, upstreamFailed);
      if (refused) respondError(res, refused, requestId, req.headers.accept);
    } catch (err) {
      // The process must not die of one request.
      log.error({ reqId: requestId, err }, 'proxy error');
      respondError(res, err, requestId, req.headers.accept);
    }
  };
  const checkFailed = (req: IncomingMessage, res: ServerResponse, err: unknown, requestId: string) => {
    if (!isVallumError(err) || err.status >= 500) errors.write('error', `check:${errorKey(err)}`, { reqId: requestId, ...errorFields(err) }, 'proxy error');
    respondError(res, err, requestId, req.headers.accept);
  };
  const upstreamFailed = (err: unknown, input: ForwardInput) => {
    const route = input.route.id;
    if (isVallumError(err) && err.status < 500) log.info({ reqId: input.requestId, code: err.code, route }, 'request refused');
    else
      errors.write('warn', `upstream:${route}:${errorKey(err)}`, { reqId: input.requestId, route, ...errorFields(err) }, `upstream of route '${route}' failed`);
    respondError(input.res, err, input.requestId, input.req.headers.accept);
  };
  const refuseFraming = (req: IncomingMessage, res: ServerResponse, problem: string) => {
    // What else the client sent on this connection cannot be trusted to be framed as we would read it.
    res.setHeader('connection', 'close');
    respondError(res, new VallumError(ErrorCodes.REQUEST_FRAMING_INVALID, problem, { status: 400 }), requestIdOf(req), req.headers.accept);
  };
  /** What fastify's request logging would say, for the requests answered here. */
  const logCompletion = (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    const started = performance.now();
    // Shaped for fastify's `req` log serializer, and read now: once the client has gone, its socket forgets the address.
    const { remoteAddress: ip, remotePort } = req.socket;
    const line = { reqId: requestId, req: { method: req.method, url: req.url, host: req.headers.host, ip, socket: { remotePort } } };
    res.once('close', () => log.info({ ...line, res: { statusCode: res.statusCode }, responseTime: performance.now() - started }, 'request completed'));
  };

  /** The request's duration by route, method and status class, once the response is closed. */
  const countCompletion = (req: IncomingMessage, res: ServerResponse, requests: RouteRequestRecorder) => {
    const started = performance.now();
    res.on('close', () => requests.observe(req.method, res.statusCode, (performance.now() - started) / 1000));
  };

  const refuseUpgrade = (socket: Duplex, status: number, message: string) =>
    closeAfter(
      socket,
      rawResponse(
        status,
        [
          ['content-type', 'text/plain; charset=utf-8'],
          ['connection', 'close'],
        ],
        `${message}\n`,
      ),
    );
  const upgradeRequest = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const problem = framingProblem(req);
    if (problem !== undefined) return refuseUpgrade(socket, 400, problem);
    const requestId = requestIdOf(req);
    const m = matchTarget(state.routes, (req.headers.host ?? '').toLowerCase(), req.url ?? '/');
    if (m.kind === 'refuse') return refuseUpgrade(socket, m.status, m.message);
    if (!m.route.allowWebsockets) return refuseUpgrade(socket, 400, 'Upgrades are not allowed on this route.');
    const check = accessRequestOf(state, req, m, requestId);
    const result = state.access.tryCheck(check) ?? (await state.access.check(check));
    if (result.kind === 'sign-in') return refuseUpgrade(socket, 401, 'Sign in first.');
    if (result.kind === 'deny') return refuseUpgrade(socket, 403, 'Access denied.');
    if (result.kind === 'respond') return refuseUpgrade(socket, result.status, 'Unauthorized.');
    const forwarded = await forwardAllowedUpgrade(state, { req, socket, head }, m, result, requestId);
    if (typeof forwarded !== 'number') return refuseUpgrade(socket, forwarded.status, forwarded.message);
    log.info({ reqId: requestId, route: m.route.id, status: forwarded }, 'upgrade forwarded');
  };
  const upgrade: UpgradeHandler = (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    upgradeRequest(req, socket, head).catch((err: unknown) => {
      log.error({ err }, 'upgrade failed');
      refuseUpgrade(socket, 500, 'Something went wrong.');
    });
  };

  return { request, upgrade };
}
