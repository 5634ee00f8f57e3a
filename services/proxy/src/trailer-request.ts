// A request that announces trailers (`Trailer:` on a chunked body) cannot go through undici, which has no way to
// send them. Such requests are rare (gRPC-style checksums, signatures computed while streaming) and go through
// node:http instead, on a connection of their own. The response is handed to the same dispatch handler as undici's,
// so the client sees the same headers, streaming, backpressure, errors and response trailers either way.
import type { IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Dispatcher } from 'undici';
import type { UpstreamTlsConfig } from '@vallum/config';
import { upstreamTrailerList, upstreamTrailerNames, type TrailerFilterInput } from './director.js';
import { requestUpstream } from './upstream-connection.js';

export interface TrailerRequest {
  origin: URL;
  path: string;
  method: string;
  /** Name/value list without hop-by-hop headers (Host included). */
  headers: string[];
  body: IncomingMessage;
  /** What the request headers were filtered with; the trailers go through the same filter. */
  fields: TrailerFilterInput | undefined;
  headersTimeout: number;
  bodyTimeout: number;
  connectTimeout: number;
  tls: UpstreamTlsConfig;
  lookup?: LookupFunction;
}

/** The client's request announces trailers that must reach the upstream. */
export function announcesTrailers(req: IncomingMessage): boolean {
  return req.headers.trailer !== undefined && req.headers['transfer-encoding'] !== undefined;
}

export function dispatchWithTrailers(r: TrailerRequest, handler: Dispatcher.DispatchHandler): void {
  const https = r.origin.protocol === 'https:';
  const upstream = requestUpstream(r.origin, {
    method: r.method,
    path: r.path,
    headers: [...r.headers, ...announced(r), 'transfer-encoding', 'chunked'],
    tls: r.tls,
    connectTimeoutMs: r.connectTimeout,
    lookup: r.lookup,
    ownConnection: true,
  });
  let failed = false;
  let connected = false;
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    clearTimeout(headersTimer);
    upstream.destroy();
    handler.onError?.(err);
  };
  const timeout = (code: string, message: string) => fail(Object.assign(new Error(message), { code }));
  const headersTimer = setTimeout(() => timeout('UND_ERR_HEADERS_TIMEOUT', 'the upstream did not answer in time'), r.headersTimeout);
  // The socket's idle timeout is the connect timeout until connected, off while the upstream works on its answer
  // (the headers timer runs then), and the body timeout once the answer streams.
  upstream.on('socket', (socket) => {
    socket.once(https ? 'secureConnect' : 'connect', () => {
      connected = true;
      upstream.setTimeout(0);
    });
  });
  upstream.on('timeout', () =>
    connected ? timeout('UND_ERR_BODY_TIMEOUT', 'the upstream went quiet') : timeout('UND_ERR_CONNECT_TIMEOUT', 'connecting to the upstream timed out'),
  );
  upstream.on('error', fail);
  handler.onConnect?.((err) => fail(err ?? new Error('aborted')));

  upstream.on('response', (res) => {
    clearTimeout(headersTimer);
    upstream.setTimeout(r.bodyTimeout);
    const raw = res.rawHeaders.map((v) => Buffer.from(v, 'latin1'));
    const resume = () => res.resume();
    if (handler.onHeaders?.(res.statusCode ?? 502, raw, resume, res.statusMessage ?? '') === false) res.pause();
    res.on('data', (chunk: Buffer) => {
      if (handler.onData?.(chunk) === false) res.pause();
    });
    res.on('end', () => {
      if (!failed) handler.onComplete?.(res.rawTrailers);
    });
    res.on('error', fail);
    res.on('aborted', () => fail(new Error('the upstream closed the connection mid-body')));
  });

  r.body.pipe(upstream, { end: false });
  r.body.once('end', () => {
    const trailers = upstreamTrailerList(r.body.rawTrailers, r.fields);
    if (trailers.length > 0) upstream.addTrailers(trailers);
    upstream.end();
  });
}

function announced(r: TrailerRequest): string[] {
  const names = upstreamTrailerNames(r.body.headers.trailer, r.fields);
  return names === undefined ? [] : ['trailer', names];
}
