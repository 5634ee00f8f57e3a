// The check step's input: what the access check needs to know of a matched request, read from the raw request.
import type { IncomingMessage } from 'node:http';
import type { AccessRequest } from './access.js';
import type { RequestIds } from './access-log.js';
import type { TargetMatch } from './match-target.js';
import type { ProxyState } from './proxy-state.js';
import { requestCookie } from './request-cookie.js';
import { clientAddress } from './trusted-proxies.js';
import type { PeerCertificate } from './client-certificate.js';

export function accessRequestOf(state: ProxyState, req: IncomingMessage, m: TargetMatch, ids: RequestIds, peer: PeerCertificate): AccessRequest {
  const { trusted } = state;
  return {
    clientCertificate: peer.kind === 'verified' ? peer.info : undefined,
    route: m.route,
    host: m.host,
    method: req.method ?? 'GET',
    path: m.path,
    otherPaths: m.otherPaths,
    rawUrl: req.url ?? '/',
    cookie: requestCookie(req.headers.cookie, state.config.cookieName),
    authorization: req.headers.authorization,
    headers: req.headers,
    clientIp: clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted),
    trustedPeer: trusted(req.socket.remoteAddress),
    requestId: ids.requestId,
    traceparent: ids.trace.traceparent,
  };
}
