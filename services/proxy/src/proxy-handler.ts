// The proxy's data plane, one request from socket to upstream:
//   framing (request-framing.ts) → match (match-target.ts) → Vallum's own paths to own-pages.ts
//   → CORS preflights the route lets through (cors-preflight.ts) → check (access-request.ts, access.ts)
//   → forward (forward-allowed.ts, forward.ts) | respond (respond.ts).
// CONNECT (tcp routes): match the authority (route-table.ts) → check → tunnel (tunnel.ts).
// Everything is read from one ProxyState snapshot (proxy-state.ts); a reload hands new requests a new handler.
// A warm request goes from the socket to the upstream without a promise: the check answers synchronously when
// in-process copies hold the answer (tryCheck), and only then falls back to the asynchronous check.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { SpanRecord } from '@vallum/telemetry';
import { ErrorCodes, VallumError, isVallumError } from '@vallum/errors';
import { requestIdOf } from '@vallum/server-kit';
import { errorFields, errorKey, type RepeatedLog } from '@vallum/telemetry';
import type { AccessResult } from './access.js';
import { AccessRecord, createAccessLog } from './access-log.js';
import { accessRequestOf } from './access-request.js';
import { isAllowedPreflight, PREFLIGHT } from './cors-preflight.js';
import { forwardAllowed, forwardAllowedUpgrade } from './forward-allowed.js';
import type { ForwardInput } from './forward.js';
import { matchTarget, type TargetMatch } from './match-target.js';
import { isOwnPath, rawPathOf } from './own-path.js';
import type { ProxyState } from './proxy-state.js';
import { framingProblem } from './request-framing.js';
import { respondError, respondRefusal, respondToCheck, type OwnAnswer } from './respond.js';
import { cookieSecure } from './session-routes.js';
import { closeAfter, rawResponse } from './upgrade.js';
import { openTunnel } from './tunnel.js';

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
  /** Where access lines go (without field redaction, see createAccessLogger); `log` when absent. */
  accessLog?: FastifyBaseLogger | undefined;
}

const SPAN_TIME_ORIGIN = performance.timeOrigin;

export function createProxyHandler(state: ProxyState, options: ProxyHandlerOptions): ProxyHandler {
  const { ownPages, log, errors } = options;
  const spans = state.spans;
  const watchAccess = createAccessLog({
    log: options.accessLog ?? log,
    onFinished: spans && ((r: AccessRecord) => spans.export(serverSpan(r))),
    routeMetrics: state.routeMetrics,
  });

  /** The request's access record, watched from now on: its line is written when the response closes. */
  const recordOf = (req: IncomingMessage, res: ServerResponse): AccessRecord => {
    const record = new AccessRecord(req, requestIdOf(req, state.traces.requestId), state.traces.start(req.headers, state.trusted(req.socket.remoteAddress)));
    watchAccess(record, res);
    return record;
  };

  const request: RequestHandler = (req, res) => {
    const problem = framingProblem(req);
    if (problem !== undefined) return refuseFraming(req, res, problem);
    const m = matchTarget(state.routes, (req.headers.host ?? '').toLowerCase(), req.url ?? '/');
    if (m.kind === 'refuse') {
      if (isOwnPath(rawPathOf(req.url ?? '/'))) return ownPages(req, res);
      return respondRefusal(res, m, recordOf(req, res).requestId, req.headers.accept, state.config.pages);
    }
    // Vallum's own pages are a fastify app, which writes their access lines.
    if (isOwnPath(m.path)) return ownPages(req, res);
    const record = recordOf(req, res);
    record.route = m.route.id;
    const peer = state.clientCertificates.peer(req.socket);
    const noCertificate = state.clientCertificates.refusal(m.route, peer);
    if (noCertificate) return respondError(res, noCertificate, record.requestId, req.headers.accept, state.config.pages);
    if (isAllowedPreflight(m.route, req)) return answer(req, res, m, PREFLIGHT, record);
    const check = accessRequestOf(state, req, m, record, peer);
    record.clientIp = check.clientIp;
    let warm: AccessResult | undefined;
    try {
      warm = state.access.tryCheck(check);
    } catch (err) {
      return checkFailed(req, res, err, record);
    }
    if (warm !== undefined) return answer(req, res, m, warm, record);
    state.access.check(check).then(
      (result) => answer(req, res, m, result, record),
      (err: unknown) => checkFailed(req, res, err, record),
    );
  };

  /** Forward, or Vallum's own answer. */
  const answer = (req: IncomingMessage, res: ServerResponse, m: TargetMatch, result: AccessResult, record: AccessRecord): void => {
    record.decided(result);
    try {
      if (result.kind === 'sign-in') {
        const limit = state.posts.limitFor(req, m.route);
        if (limit > 0) return keepPostThenSignIn(req, res, m, result, record, limit);
      }
      if (result.kind !== 'forward') return respondToCheck(state, res, m, result, record.requestId, req.headers.accept);
      const refused = forwardAllowed(state, req, res, m, result, record, upstreamFailed);
      if (refused) respondError(res, refused, record.requestId, req.headers.accept, state.config.pages);
    } catch (err) {
      // The process must not die of one request.
      log.error({ request_id: record.requestId, trace_id: record.trace.traceId, err }, 'proxy error');
      respondError(res, err, record.requestId, req.headers.accept, state.config.pages);
    }
  };
  /** A form post on an expired session: kept for after the sign-in; a post that cannot be kept signs in without it. */
  const keepPostThenSignIn = (req: IncomingMessage, res: ServerResponse, m: TargetMatch, result: OwnAnswer, record: AccessRecord, limit: number) => {
    const signIn = (cookie?: string) => respondToCheck(state, res, m, result, record.requestId, req.headers.accept, cookie);
    state.posts.keep(req, m.route, req.url ?? '/', limit, cookieSecure(state.config, m.route)).then(signIn, (err: unknown) => {
      errors.write(
        'warn',
        `preserve-post:${errorKey(err)}`,
        { request_id: record.requestId, ...errorFields(err) },
        'a form post could not be kept through the sign-in',
      );
      signIn();
    });
  };
  const checkFailed = (req: IncomingMessage, res: ServerResponse, err: unknown, record: AccessRecord) => {
    record.decision = 'error';
    if (!isVallumError(err) || err.status >= 500)
      errors.write('error', `check:${errorKey(err)}`, { request_id: record.requestId, trace_id: record.trace.traceId, ...errorFields(err) }, 'proxy error');
    respondError(res, err, record.requestId, req.headers.accept, state.config.pages);
  };
  const upstreamFailed = (err: unknown, input: ForwardInput) => {
    // A client that went away has its access line and debug line (access-log.ts), and no one to answer.
    if (isVallumError(err) && err.code === ErrorCodes.CLIENT_ABORTED) return;
    const route = input.route.id;
    const ids = { request_id: input.requestId, trace_id: input.traceId, route };
    if (isVallumError(err) && err.status < 500) log.debug({ ...ids, code: err.code }, 'request refused');
    else errors.write('warn', `upstream:${route}:${errorKey(err)}`, { ...ids, ...errorFields(err) }, `upstream of route '${route}' failed`);
    respondError(input.res, err, input.requestId, input.req.headers.accept, state.config.pages);
  };
  const refuseFraming = (req: IncomingMessage, res: ServerResponse, problem: string) => {
    // What else the client sent on this connection cannot be trusted to be framed as we would read it.
    if (req.httpVersionMajor === 1) res.setHeader('connection', 'close');
    const { requestId } = recordOf(req, res);
    respondError(res, new VallumError(ErrorCodes.REQUEST_FRAMING_INVALID, problem, { status: 400 }), requestId, req.headers.accept, state.config.pages);
  };

  const refuseUpgrade = (socket: Duplex, status: number, message: string, extra: Array<[string, string]> = []) =>
    closeAfter(socket, rawResponse(status, [['content-type', 'text/plain; charset=utf-8'], ['connection', 'close'], ...extra], `${message}\n`));
  const upgradeRequest = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const problem = framingProblem(req);
    if (problem !== undefined) return refuseUpgrade(socket, 400, problem);
    const m = matchTarget(state.routes, (req.headers.host ?? '').toLowerCase(), req.url ?? '/');
    if (m.kind === 'refuse') return refuseUpgrade(socket, m.status, m.message);
    if (!m.route.allowWebsockets) return refuseUpgrade(socket, 400, 'Upgrades are not allowed on this route.');
    const peer = state.clientCertificates.peer(req.socket);
    const noCertificate = state.clientCertificates.refusal(m.route, peer);
    if (noCertificate) return refuseUpgrade(socket, noCertificate.status, noCertificate.message);
    const ids = { requestId: requestIdOf(req, state.traces.requestId), trace: state.traces.start(req.headers, state.trusted(req.socket.remoteAddress)) };
    const check = accessRequestOf(state, req, m, ids, peer);
    const result = state.access.tryCheck(check) ?? (await state.access.check(check));
    if (result.kind === 'sign-in') return refuseUpgrade(socket, 401, 'Sign in first.');
    if (result.kind === 'deny') return refuseUpgrade(socket, 403, 'Access denied.');
    if (result.kind === 'respond') return refuseUpgrade(socket, result.error.status, 'Unauthorized.');
    const forwarded = await forwardAllowedUpgrade(state, { req, socket, head }, m, result, ids);
    if (typeof forwarded !== 'number') return refuseUpgrade(socket, forwarded.status, forwarded.message);
    log.info(
      { request_id: ids.requestId, trace_id: ids.trace.traceId, route: m.route.id, user: result.email, decision: 'allow', status: forwarded },
      'upgrade forwarded',
    );
  };
  // CONNECT (tcp routes): match the authority → check (cookie or bearer token, never a sign-in redirect) → tunnel.
  // Only a configured tcp route's authority is ever dialled: Vallum is never an open proxy.
  const accessLog = options.accessLog ?? log;
  const connectRequest = async (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const authority = (req.url ?? '').toLowerCase();
    const route = state.routes.tunnel(authority);
    const ids = { requestId: requestIdOf(req, state.traces.requestId), trace: state.traces.start(req.headers, state.trusted(req.socket.remoteAddress)) };
    const line = { request_id: ids.requestId, trace_id: ids.trace.traceId, method: 'CONNECT', host: authority, route: route?.id };
    const refuse = (status: number, message: string, extra?: Array<[string, string]>, user?: string) => {
      accessLog.info({ ...line, user, decision: status === 403 ? 'deny' : 'refuse', status }, 'tunnel refused');
      refuseUpgrade(socket, status, message, extra);
    };
    if (!route) return refuse(404, 'No tcp route is configured for this address: nothing was dialled.');
    const m: TargetMatch = { kind: 'route', route, host: authority, path: '/', query: '', otherPaths: [] };
    const peer = state.clientCertificates.peer(req.socket);
    const noCertificate = state.clientCertificates.refusal(route, peer);
    if (noCertificate) return refuse(noCertificate.status, noCertificate.message);
    const check = { ...accessRequestOf(state, req, m, ids, peer), authorization: tunnelCredential(req) };
    const result = state.access.tryCheck(check) ?? (await state.access.check(check));
    const challenge: Array<[string, string]> = [['proxy-authenticate', 'Bearer realm="vallum"']];
    if (result.kind === 'sign-in') return refuse(407, 'Sign in first: send a Vallum token (vallum tcp does) in Proxy-Authorization: Bearer.', challenge);
    if (result.kind === 'respond') return refuse(407, 'The token is not valid, or has expired: sign in again.', challenge);
    if (result.kind === 'deny') return refuse(403, 'Access denied: your account is not allowed to reach this address.', undefined, result.email);
    // The tunnel obeys revocation like an upgraded socket: closed when the session ends or the policy stops allowing it.
    state.access.watch(socket, result);
    openTunnel(route, socket, head, (end) =>
      accessLog.info(
        {
          ...line,
          user: result.email,
          decision: 'allow',
          status: end.status,
          bytes_up: end.bytesUp,
          bytes_down: end.bytesDown,
          duration_ms: end.durationMs,
          closed: end.reason,
        },
        'tunnel closed',
      ),
    );
  };

  const upgrade: UpgradeHandler = (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    (req.method === 'CONNECT' ? connectRequest(req, socket as Socket, head) : upgradeRequest(req, socket, head)).catch((err: unknown) => {
      errors.write('error', `upgrade:${errorKey(err)}`, { request_id: requestIdOf(req, state.traces.requestId), ...errorFields(err) }, 'upgrade failed');
      refuseUpgrade(socket, 500, 'Something went wrong.');
    });
  };

  return { request, upgrade };
}

/** A CONNECT's credential: Proxy-Authorization is the proxy's own header; Authorization is accepted too. */
function tunnelCredential(req: IncomingMessage): string | undefined {
  const proxy = req.headers['proxy-authorization'];
  return typeof proxy === 'string' && proxy !== '' ? proxy : req.headers.authorization;
}

/** The server span of one proxied request, for the OTLP exporter. */
function serverSpan(r: AccessRecord): SpanRecord {
  return {
    name: `${r.req.method ?? 'GET'} ${r.route ?? ''}`,
    kind: 'server',
    trace: r.trace,
    startMs: SPAN_TIME_ORIGIN + r.started,
    endMs: SPAN_TIME_ORIGIN + r.ended,
    attributes: {
      'http.request.method': r.req.method ?? 'GET',
      'http.response.status_code': r.status,
      'http.route': r.route ?? '',
      'server.address': r.req.headers.host ?? '',
      'vallum.route': r.route ?? '',
      'vallum.decision': r.decision,
      'vallum.request_id': r.requestId,
      'vallum.client_aborted': r.aborted,
    },
    error: r.status >= 500,
  };
}
