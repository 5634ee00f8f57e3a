// Upgrades (WebSockets) on routes with `allow_websockets`: the caller has matched the route and run the access
// check; here the upgrade is forwarded to an upstream and, once it answers 101, bytes flow both ways until either
// side closes. A refusal from the upstream is relayed as is.
import type { IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RouteConfig } from '@vallum/config';
import { trackWebSocket } from './going-away.js';
import { requestUpstream } from './upstream-connection.js';

export interface UpgradeTarget {
  route: RouteConfig;
  endpoint: URL;
  path: string;
  headers: Record<string, string | string[]>;
  /** Resolves a named upstream (cached for upstream_dns_ttl); IP upstreams are not looked up. */
  lookup?: LookupFunction;
}

export function forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: UpgradeTarget): Promise<number> {
  const { route, endpoint } = target;
  return new Promise<number>((resolve) => {
    const upstreamReq = requestUpstream(endpoint, {
      method: req.method ?? 'GET',
      path: target.path,
      headers: target.headers,
      tls: route.upstreamTls,
      connectTimeoutMs: route.connectTimeoutMs,
      lookup: target.lookup,
    });
    const fail = (status: number) => {
      closeAfter(
        socket,
        rawResponse(
          status,
          [
            ['content-type', 'text/plain'],
            ['connection', 'close'],
          ],
          `${status} upstream failed\n`,
        ),
      );
      resolve(status);
    };
    upstreamReq.on('timeout', () => upstreamReq.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
    upstreamReq.on('error', (err: Error & { code?: string }) => fail(err.code === 'ETIMEDOUT' ? 504 : 502));
    upstreamReq.on('response', (res) => {
      // The upstream refused the upgrade: relay its answer, then close.
      socket.write(rawResponse(res.statusCode ?? 502, headerPairs(res.rawHeaders)));
      res.pipe(socket);
      res.on('error', () => socket.destroy());
      socket.once('finish', () => socket.destroy());
      resolve(res.statusCode ?? 502);
    });
    const requestGone = () => upstreamReq.destroy();
    upstreamReq.on('upgrade', (res, upstreamSocket, upstreamHead) => {
      upstreamReq.setTimeout(0);
      upstreamSocket.setTimeout(0);
      socket.off('close', requestGone);
      socket.write(rawResponse(101, headerPairs(res.rawHeaders), undefined, res.statusMessage));
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      tunnel(socket, upstreamSocket, req.headers.upgrade?.toLowerCase() === 'websocket');
      resolve(101);
    });
    socket.once('close', requestGone);
    upstreamReq.end();
  });
}

/**
 * Bytes both ways until either side closes. Its own function, holding the two sockets alone: an idle WebSocket
 * keeps what its closures hold, and the request, the upstream request and its response are not needed any more.
 */
function tunnel(socket: Duplex, upstreamSocket: Duplex, webSocket: boolean): void {
  upstreamSocket.pipe(socket);
  socket.pipe(upstreamSocket);
  if (webSocket) trackWebSocket(socket, upstreamSocket);
  const closeBoth = () => {
    upstreamSocket.destroy();
    socket.destroy();
  };
  upstreamSocket.on('error', closeBoth);
  socket.on('error', closeBoth);
  upstreamSocket.on('close', closeBoth);
  socket.on('close', closeBoth);
}

/**
 * Answers a refused upgrade and closes the connection both ways once the answer is sent. A half-close would leave
 * the client's side open: whatever it pipelined after the upgrade request is never read, so the socket is destroyed.
 */
export function closeAfter(socket: Duplex, answer: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(answer, () => socket.destroy());
}

function headerPairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

export function rawResponse(status: number, headers: Array<[string, string]>, body?: string, reason = defaultReason(status)): string {
  const lines = [`HTTP/1.1 ${status} ${reason}`, ...headers.map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined) lines.push(`content-length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}

function defaultReason(status: number): string {
  return (
    {
      101: 'Switching Protocols',
      400: 'Bad Request',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      502: 'Bad Gateway',
      503: 'Service Unavailable',
      504: 'Gateway Timeout',
    }[status] ?? 'Status'
  );
}
