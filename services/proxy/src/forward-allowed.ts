// The forward step: a request (or upgrade) the access check let in goes to one of the route's upstreams, after the
// route's limits, with the director's headers, through the route's response cache when it has one.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { RouteConfig } from '@vallum/config';
import type { VallumError } from '@vallum/errors';
import type { AccessResult } from './access.js';
import type { RequestIds } from './access-log.js';
import { forwardWithCache } from './cached-forward.js';
import { upstreamHeaderList, upstreamRequestHeaders, type UpstreamHeadersInput } from './director.js';
import type { ForwardInput } from './forward.js';
import type { TargetMatch } from './match-target.js';
import type { ProxyState } from './proxy-state.js';
import { requestCookie } from './request-cookie.js';
import { clientAddress } from './trusted-proxies.js';
import { rewrittenPath } from './upstream-path.js';

/** Larger responses stream through uncached. */
const MAX_CACHED_BODY_BYTES = 8 * 1024 * 1024;

export type Allowed = Extract<AccessResult, { kind: 'forward' }>;

/** Called when no response was started: the caller answers with an error page. */
export type ForwardFailed = (err: unknown, input: ForwardInput) => void;

export function forwardAllowed(
  state: ProxyState,
  req: IncomingMessage,
  res: ServerResponse,
  m: TargetMatch,
  result: Allowed,
  ids: RequestIds,
  failed: ForwardFailed,
): VallumError | undefined {
  const { route } = m;
  const refused = limitRefusal(state, req, route, result);
  if (refused) return refused;
  state.access.watch(res, result);
  const fields = headerInput(state, req, ids, m, result);
  const input: ForwardInput = {
    route,
    hashKey: hashKeyOf(route, req),
    path: pathFor(route, m.path, m.query),
    host: hostFor(route, req),
    req,
    body: state.limits.body(route, req),
    res,
    headers: upstreamHeaderList(fields),
    fields,
    requestId: ids.requestId,
    traceId: ids.trace.traceId,
  };
  const cache = state.caches.get(route.id);
  if (!cache) {
    state.forwarder.send(input, failed);
    return undefined;
  }
  const key = `${m.host}${m.path}${m.query}`;
  const maxEntry = Math.min(MAX_CACHED_BODY_BYTES, route.cacheMaxBytes ?? 0);
  const userIdentified = !route.allowPublicUnauthenticatedAccess || result.identity !== undefined || fields.clientCertificate !== undefined;
  const counts = state.routeMetrics.get(route.id)?.cache;
  void forwardWithCache(state.forwarder, { ...input, cache, key, userIdentified, identityNames: state.access.stripHeaders, counts }, maxEntry).catch(
    (err: unknown) => failed(err, input),
  );
  return undefined;
}

/**
 * Forwards an upgrade the access check let in; the upstream's status, or a refusal (a limit, or no healthy
 * upstream) for the caller to answer.
 */
export async function forwardAllowedUpgrade(
  state: ProxyState,
  request: { req: IncomingMessage; socket: Duplex; head: Buffer },
  m: TargetMatch,
  result: Allowed,
  ids: RequestIds,
): Promise<number | { status: number; message: string }> {
  const { req, socket, head } = request;
  const refused = m.route.rateLimit && limitRefusal(state, req, m.route, result);
  if (refused) return { status: refused.status, message: refused.message };
  // An upgraded connection obeys revocation like a long response: it is closed when the session ends or the
  // policy stops allowing it.
  state.access.watch(socket, result);
  const headers = upstreamRequestHeaders(headerInput(state, req, ids, m, result, String(req.headers.upgrade ?? 'websocket')));
  const status = await state.forwarder.upgrade({
    route: m.route,
    hashKey: hashKeyOf(m.route, req),
    path: pathFor(m.route, m.path, m.query),
    host: hostFor(m.route, req),
    req,
    socket,
    head,
    headers,
  });
  return status ?? { status: 503, message: 'No healthy upstream is available for this application.' };
}

function limitRefusal(state: ProxyState, req: IncomingMessage, route: RouteConfig, result: Allowed): VallumError | undefined {
  if (route.rateLimit === undefined && route.maxRequestBodyBytes === undefined) return undefined;
  const refused = state.limits.refusal(route, req, result.user, clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], state.trusted));
  if (refused?.status === 429) state.routeMetrics.get(route.id)?.rateLimited.inc();
  return refused;
}

function headerInput(state: ProxyState, req: IncomingMessage, ids: RequestIds, m: TargetMatch, result: Allowed, upgrade?: string): UpstreamHeadersInput {
  const remote = req.socket.remoteAddress;
  const peer = state.clientCertificates.peer(req.socket);
  return {
    clientCertificate: peer.kind === 'verified' ? [state.config.downstreamMtls!.fingerprintHeader, peer.info.fingerprint] : undefined,
    headers: req.headers,
    cookieName: state.config.cookieName,
    clientIp: remote,
    trustedPeer: state.trusted(remote),
    proto: (req.socket as TLSSocket).encrypted ? 'https' : 'http',
    host: m.host,
    requestId: ids.requestId,
    trace: ids.trace,
    identity: result.identity,
    rules: m.route,
    upgrade,
    stripHeaders: state.access.stripHeaders,
    dropAuthorization: result.dropAuthorization === true,
    memo: state.headerMemo,
  };
}

/** The Host header for the upstream; undefined means the chosen upstream's own. */
function hostFor(route: RouteConfig, req: IncomingMessage): string | undefined {
  return route.preserveHostHeader ? req.headers.host : route.hostRewrite;
}

function pathFor(route: RouteConfig, path: string, query: string): string {
  return rewrittenPath(path, route.prefixRewrite === undefined ? undefined : { prefix: route.prefix, to: route.prefixRewrite }) + query;
}

/** The key ring_hash balancing hashes: a header or a cookie of the request. */
function hashKeyOf(route: RouteConfig, req: IncomingMessage): string | undefined {
  const h = route.lbHash;
  if (!h) return undefined;
  if ('header' in h) {
    const v = req.headers[h.header.toLowerCase()];
    return Array.isArray(v) ? v.join(',') : v;
  }
  return requestCookie(req.headers.cookie, h.cookie);
}
