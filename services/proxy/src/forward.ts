// Forwards one request to one of a route's upstreams through undici's `dispatch` with a raw handler: response bytes
// go straight into the client response, with backpressure both ways (a full socket pauses the upstream, a slow
// upstream pauses the client's upload). Bodies are never buffered. An idempotent request without a body is
// retried once on another endpoint when connecting failed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import type { RouteConfig } from '@vallum/config';
import { VallumError, ErrorCodes } from '@vallum/errors';
import type { Endpoint } from './balancer.js';
import { downstreamRawHeaders } from './director.js';
import { createRouteUpstreams, type RouteUpstreams } from './upstreams.js';

export interface Forwarder {
  forward(input: ForwardInput): Promise<void>;
  upstreams(route: RouteConfig): RouteUpstreams;
  close(): Promise<void>;
}

export interface ForwardInput {
  route: RouteConfig;
  /** Key for ring_hash balancing. */
  hashKey: string | undefined;
  /** Path and query to request from the chosen upstream. */
  path(endpoint: URL): string;
  /** Host header for the chosen upstream. */
  host(endpoint: URL): string;
  req: IncomingMessage;
  res: ServerResponse;
  headers: Record<string, string | string[]>;
  requestId: string;
  /** Sees the response as it streams (the response cache); may take over answering the client. */
  tap?: ResponseTap;
}

export interface ResponseTap {
  /** Client-bound headers of the upstream response; 'handled' means the tap answers the client at `end`. */
  start(status: number, headers: string[]): 'pass' | 'handled';
  data(chunk: Buffer): void;
  /** The upstream response is complete; a tap that said 'handled' writes the client response now. */
  end(res: ServerResponse): void;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export function createForwarder(): Forwarder {
  const byRoute = new Map<string, RouteUpstreams>();
  const upstreams = (route: RouteConfig) => {
    let u = byRoute.get(route.id);
    if (!u) {
      u = createRouteUpstreams(route);
      byRoute.set(route.id, u);
    }
    return u;
  };

  return {
    upstreams,
    async forward(input) {
      const { route, req } = input;
      const { balancer, pool } = upstreams(route);
      const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
      const retryable = !hasBody && IDEMPOTENT.has(req.method ?? '');
      let tried: Endpoint | undefined;
      for (let attemptNo = 0; ; attemptNo++) {
        const endpoint = balancer.pick(input.hashKey, tried);
        if (!endpoint) {
          if (tried) throw upstreamError(new Error('no other healthy upstream'));
          throw new VallumError(ErrorCodes.UPSTREAM_UNAVAILABLE, 'No healthy upstream is available for this application.', { status: 503, expose: true });
        }
        tried = endpoint;
        endpoint.inFlight++;
        try {
          const headers = { ...input.headers, host: input.host(endpoint.url) };
          const status = await attempt(pool(endpoint), { ...input, path: input.path(endpoint.url), headers, hasBody });
          balancer.report(endpoint, status < 500);
          return;
        } catch (cause) {
          const connectFailed = CONNECT_ERRORS.has((cause as { code?: string }).code ?? '');
          if (!input.res.destroyed) balancer.report(endpoint, false);
          if (!(retryable && connectFailed && attemptNo === 0 && !input.res.destroyed)) throw upstreamError(cause);
        } finally {
          endpoint.inFlight--;
        }
      }
    },
    async close() {
      await Promise.all([...byRoute.values()].map((u) => u.close()));
    },
  };
}

interface AttemptInput {
  route: RouteConfig;
  path: string;
  req: IncomingMessage;
  res: ServerResponse;
  headers: Record<string, string | string[]>;
  hasBody: boolean;
  requestId: string;
  tap?: ResponseTap;
}

/** Resolves with the upstream status once the response is complete (or cut); rejects only before any response. */
function attempt(pool: Pool, input: AttemptInput): Promise<number> {
  const { req, res, route } = input;
  return new Promise<number>((resolve, reject) => {
    let status = 0;
    let handled = false;
    const tap = input.tap;
    let abort: ((err?: Error) => void) | undefined;
    let resume: (() => void) | undefined;
    const onClose = () => {
      if (!res.writableFinished) abort?.(new Error('the client went away'));
    };
    const onDrain = () => resume?.();
    const finish = () => {
      res.off('close', onClose);
      res.off('drain', onDrain);
    };
    res.once('close', onClose);
    const handler: Dispatcher.DispatchHandler = {
      onConnect(a) {
        abort = a;
        if (res.destroyed) a(new Error('the client went away'));
      },
      onHeaders(statusCode, rawHeaders, resumeUpstream) {
        if (statusCode < 200) return true;
        status = statusCode;
        resume = resumeUpstream;
        res.on('drain', onDrain);
        const headers = downstreamRawHeaders(rawHeaders, route.setResponseHeaders);
        if (tap?.start(statusCode, headers) === 'handled') {
          handled = true;
          return true;
        }
        headers.push('x-request-id', input.requestId);
        res.writeHead(statusCode, headers);
        // Streams without a length (server-sent events, chunked) show their headers at once, not with the first chunk.
        if (!hasLength(rawHeaders)) res.flushHeaders();
        return true;
      },
      onData(chunk) {
        if (handled) return true;
        tap?.data(chunk);
        return res.write(chunk);
      },
      onComplete(trailers) {
        if (handled) tap!.end(res);
        else {
          if (trailers && trailers.length > 0) res.addTrailers(pairs(trailers));
          res.end();
          tap?.end(res);
        }
        finish();
        resolve(status);
      },
      onError(err) {
        finish();
        if (status === 0 && !res.headersSent) reject(err);
        else if (handled && !res.headersSent) reject(err);
        else {
          // Headers are gone already: the only honest signal left is to cut the connection.
          res.destroy(err);
          resolve(status);
        }
      },
    };
    pool.dispatch(
      {
        path: input.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: input.headers,
        body: input.hasBody ? req : null,
        headersTimeout: route.timeoutMs,
        bodyTimeout: route.idleTimeoutMs,
      },
      handler,
    );
  });
}

function hasLength(raw: readonly Buffer[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 14 && raw[i]!.toString('latin1').toLowerCase() === 'content-length') return true;
  }
  return false;
}

function pairs(raw: ReadonlyArray<Buffer | string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([String(raw[i]), String(raw[i + 1])]);
  return out;
}

export function upstreamError(cause: unknown): VallumError {
  if (cause instanceof VallumError) return cause;
  const code = (cause as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new VallumError(ErrorCodes.UPSTREAM_TIMEOUT, 'The application did not answer in time.', { status: 504, expose: true, cause });
  }
  return new VallumError(ErrorCodes.UPSTREAM_UNAVAILABLE, 'The application is not reachable right now.', { status: 502, expose: true, cause });
}
