// Forwards one request to one of a route's upstreams through undici's `dispatch` with a raw handler: response bytes
// go straight into the client response, with backpressure both ways (a full socket pauses the upstream, a slow
// upstream pauses the client's upload). Bodies are never buffered. An idempotent request without a body is
// retried once on another endpoint when connecting failed. This is the one way to open an exchange with an upstream:
// a request announcing trailers goes through trailer-request.ts, an upgrade through upgrade.ts, both as options of it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RouteConfig } from '@vallum/config';
import type { VallumMetrics } from '@vallum/telemetry';
import { VallumError, ErrorCodes } from '@vallum/errors';
import type { Endpoint } from './balancer.js';
import { downstreamRawHeaders, latin1, type TrailerFilterInput } from './director.js';
import type { BorrowingHandler } from './h1-upstream.js';
import { hasRequestBody } from './request-framing.js';
import { announcesTrailers, dispatchWithTrailers } from './trailer-request.js';
import { createRouteUpstreams, type RouteUpstreams } from './upstreams.js';
import type { UpstreamPools } from './upstream-pools.js';
import { forwardUpgrade } from './upgrade.js';

export interface Forwarder {
  /** Settles when the response is complete (or cut); rejects only when no response was started. */
  forward(input: ForwardInput): Promise<void>;
  /** `forward` without a promise: `failed` is called instead of rejecting (the hot path). */
  send(input: ForwardInput, failed: (err: unknown, input: ForwardInput) => void): void;
  /** Forwards an upgrade (WebSocket) to one of the route's upstreams: its status, or undefined when none is healthy. */
  upgrade(input: UpgradeInput): Promise<number | undefined>;
  upstreams(route: RouteConfig): RouteUpstreams;
  close(): Promise<void>;
}

export interface ForwardInput {
  route: RouteConfig;
  /** Key for ring_hash balancing. */
  hashKey: string | undefined;
  /** Path (prefix_rewrite applied) and raw query, appended to the chosen upstream's base path. */
  path: string;
  /** The Host header to send; undefined sends the chosen upstream's own host. */
  host: string | undefined;
  req: IncomingMessage;
  /** The body to send when it is not `req` itself (a size-limited copy); such a body's trailers are not forwarded. */
  body?: Readable | undefined;
  res: ServerResponse;
  /** Request headers for the upstream as a name/value list, without Host. */
  headers: string[];
  /** What `headers` were filtered with; request trailers go through the same filter. */
  fields?: TrailerFilterInput;
  requestId: string;
  /** For the log lines of a failed exchange. */
  traceId?: string;
  /** Sees the response as it streams (the response cache); may take over answering the client. */
  tap?: ResponseTap;
}

export interface UpgradeInput {
  route: RouteConfig;
  hashKey: string | undefined;
  /** Path (prefix_rewrite applied) and raw query, appended to the chosen upstream's base path. */
  path: string;
  /** The Host header to send; undefined sends the chosen upstream's own host. */
  host: string | undefined;
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  /** Request headers for the upstream, without Host. */
  headers: Record<string, string | string[]>;
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

export interface ForwarderOptions {
  /** Counts upstream latency, errors and health; none when absent. */
  metrics?: VallumMetrics | undefined;
  /** Where the routes' dispatchers come from; each route has its own when absent. */
  pools?: UpstreamPools | undefined;
  /** Whether `close` closes `pools` too (they were made for this forwarder alone). */
  ownsPools?: boolean;
}

export function createForwarder(options: ForwarderOptions = {}): Forwarder {
  const byRoute = new Map<string, RouteUpstreams>();
  const upstreams = (route: RouteConfig) => {
    let u = byRoute.get(route.id);
    if (!u) {
      u = createRouteUpstreams(route, { metrics: options.metrics, pools: options.pools });
      byRoute.set(route.id, u);
    }
    return u;
  };
  /** Set-response-header names of a route, lower-cased once. */
  const replacedNames = new WeakMap<RouteConfig, ReadonlySet<string> | undefined>();
  const replacedOf = (route: RouteConfig): ReadonlySet<string> | undefined => {
    if (!replacedNames.has(route)) {
      const names = Object.keys(route.setResponseHeaders);
      replacedNames.set(route, names.length > 0 ? new Set(names.map((n) => n.toLowerCase())) : undefined);
    }
    return replacedNames.get(route);
  };
  const exchange = (input: ForwardInput, failed: (err: unknown, input: ForwardInput) => void, done?: () => void) =>
    new Exchange(input, upstreams(input.route), replacedOf(input.route), failed, done);

  return {
    upstreams,
    forward(input) {
      return new Promise<void>((resolve, reject) => exchange(input, reject, resolve).start());
    },
    send(input, failed) {
      exchange(input, failed).start();
    },
    async upgrade(input) {
      const u = upstreams(input.route);
      const endpoint = u.balancer.pick(input.hashKey);
      if (!endpoint) return undefined;
      const headers = { ...input.headers, host: input.host ?? endpoint.host };
      const target = { route: input.route, endpoint: endpoint.url, path: endpoint.basePath + input.path, headers, lookup: u.lookup };
      return forwardUpgrade(input.req, input.socket, input.head, target);
    },
    async close() {
      await Promise.all([...byRoute.values()].map((u) => u.close()));
      if (options.ownsPools) await options.pools?.close();
    },
  };
}

/**
 * One request's exchange with the upstreams: an undici dispatch handler (one object, no closures per callback)
 * that streams the response into the client's, retrying once on another endpoint when connecting failed.
 * Settles once the response is complete (or cut); rejects only when no response was started.
 */
class Exchange implements BorrowingHandler {
  private endpoint: Endpoint | undefined;
  private attempts = 0;
  private status = 0;
  /** When the current attempt was dispatched (performance.now()), for the upstream latency. */
  private sentAt = 0;
  private handled = false;
  /** gRPC status fields of a trailers-only response, sent as trailers (see takeGrpcStatus). */
  private statusFields: Record<string, string> | undefined;
  private abort: ((err?: Error) => void) | undefined;
  /** Lets the upstream connection read again (see onBorrowedData). */
  private resumeUpstream: (() => void) | undefined;
  /** A borrowed chunk is still being written to the client. */
  private holding = false;
  private readonly retryable: boolean;
  private readonly hasBody: boolean;

  constructor(
    private readonly input: ForwardInput,
    private readonly upstreams: RouteUpstreams,
    /** The route's set_response_headers names, lower-cased. */
    private readonly replaced: ReadonlySet<string> | undefined,
    private readonly failed: (err: unknown, input: ForwardInput) => void,
    private readonly done?: () => void,
  ) {
    this.hasBody = hasRequestBody(input.req);
    this.retryable = !this.hasBody && IDEMPOTENT.has(input.req.method ?? '');
    // 'close' comes once: `on` spares the wrapper `once` allocates.
    input.res.on('close', () => {
      if (!input.res.writableFinished) this.abort?.(new Error('the client went away'));
      // A closed socket holds no borrowed bytes any more, and node:http drops the callbacks of writes it did not start.
      this.written();
    });
  }

  private reject(err: unknown): void {
    this.failed(err, this.input);
  }

  private resolve(): void {
    this.done?.();
  }

  /** `failed`: why the first attempt failed, when this is the retry. */
  start(failed?: Error): void {
    const { input } = this;
    const tried = this.endpoint;
    const endpoint = this.upstreams.balancer.pick(input.hashKey, tried);
    if (!endpoint) {
      if (tried) return this.reject(upstreamError(failed ?? new Error('no other upstream')));
      return this.reject(
        new VallumError(ErrorCodes.UPSTREAM_UNAVAILABLE, 'No healthy upstream is available for this application.', { status: 503, expose: true }),
      );
    }
    this.endpoint = endpoint;
    this.attempts++;
    this.sentAt = performance.now();
    endpoint.inFlight++;
    const headers = input.headers;
    const host = input.host ?? endpoint.host;
    if (this.attempts === 1) headers.push('host', host);
    else headers[headers.length - 1] = host;
    const { route } = input;
    if (this.hasBody && input.body === undefined && route.upstreamProtocol === 'http1' && announcesTrailers(input.req)) {
      const r = {
        origin: endpoint.url,
        path: endpoint.basePath + input.path,
        method: input.req.method ?? 'POST',
        headers,
        body: input.req,
        fields: input.fields,
      };
      const limits = { headersTimeout: route.timeoutMs, bodyTimeout: route.idleTimeoutMs, connectTimeout: route.connectTimeoutMs };
      return dispatchWithTrailers({ ...r, ...limits, tls: route.upstreamTls, lookup: this.upstreams.lookup }, this);
    }
    this.upstreams.pool(endpoint).dispatch(
      {
        path: endpoint.basePath + input.path,
        method: input.req.method as Dispatcher.HttpMethod,
        headers,
        body: this.hasBody ? (input.body ?? input.req) : null,
        headersTimeout: input.route.timeoutMs,
        bodyTimeout: input.route.idleTimeoutMs,
      },
      this,
    );
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.input.res.destroyed) abort(new Error('the client went away'));
  }

  onHeaders(statusCode: number, rawHeaders: Array<Buffer | string>, resume: () => void): boolean {
    if (statusCode < 200) return true;
    const { input } = this;
    const { res, route } = input;
    this.status = statusCode;
    this.resumeUpstream = resume;
    const headers = downstreamRawHeaders(rawHeaders, route.setResponseHeaders, this.replaced);
    if (input.tap?.start(statusCode, headers) === 'handled') {
      this.handled = true;
      return true;
    }
    headers.push('x-request-id', input.requestId);
    if (res.req.httpVersionMajor === 2) this.statusFields = takeGrpcStatus(headers);
    res.writeHead(statusCode, headers);
    // Streams without a length (server-sent events, chunked) show their headers at once, not with the first chunk.
    if (!hasLength(rawHeaders)) res.flushHeaders();
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.handled) return true;
    this.input.tap?.data(chunk);
    if (this.input.res.write(chunk)) return true;
    // Backpressure: the dispatcher pauses until the client's side drains.
    this.input.res.once('drain', this.resumeUpstream!);
    return false;
  }

  /**
   * A view of the upstream connection's read buffer (h1-upstream.ts): it is written to the client at once, and the
   * connection reads again only when the client's side no longer holds the bytes. node:http corks a response's socket
   * until the next tick; uncorking here sends them now, and usually the kernel takes them whole, so the read goes on.
   */
  onBorrowedData(chunk: Buffer): boolean {
    const { res, tap } = this.input;
    if (this.handled || tap !== undefined || res.req.httpVersionMajor === 2) return this.onData(Buffer.from(chunk));
    res.write(chunk, this.written);
    res.socket?.uncork();
    if (res.writableLength === 0) return true;
    this.holding = true;
    return false;
  }

  /** The client's side took a borrowed chunk. */
  private readonly written = (): void => {
    if (!this.holding) return;
    this.holding = false;
    this.resumeUpstream?.();
  };

  onComplete(trailers: Buffer[] | string[] | null): void {
    const { res, tap } = this.input;
    if (this.handled) tap!.end(res);
    else {
      if (this.statusFields) res.addTrailers({ ...this.statusFields, ...fieldsOf(trailers ?? []) });
      else if (trailers && trailers.length > 0) res.addTrailers(res.req.httpVersionMajor === 2 ? fieldsOf(trailers) : pairs(trailers));
      res.end();
      tap?.end(res);
    }
    this.settle(this.status < 500);
    const counts = this.upstreams.counts(this.endpoint!);
    if (counts !== undefined) {
      counts.duration.observe((performance.now() - this.sentAt) / 1000);
      if (this.status >= 500) counts.status5xx.inc();
    }
    this.resolve();
  }

  onError(err: Error): void {
    const { res } = this.input;
    const started = this.status !== 0 || res.headersSent;
    // A client that went away is no failure of the upstream.
    if (!res.destroyed) this.countError(err, started);
    if (!started) {
      if (res.destroyed) {
        // The client went away first: not the upstream's failure, and no one is left to answer.
        this.endpoint!.inFlight--;
        return this.reject(clientAborted(err));
      }
      this.settle(false);
      const connectFailed = CONNECT_ERRORS.has((err as { code?: string }).code ?? '');
      if (this.retryable && connectFailed && this.attempts === 1) return this.start(err);
      return this.reject(upstreamError(err));
    }
    // A response cut after it started (client gone, upstream died mid-body) is judged by its status, as if complete.
    this.settle(this.status < 500);
    if (this.handled && !res.headersSent) return this.reject(upstreamError(err));
    // Headers are gone already: the only honest signal left is to cut the connection.
    res.destroy(err);
    this.resolve();
  }

  private countError(err: Error, started: boolean): void {
    const counts = this.upstreams.counts(this.endpoint!);
    if (counts === undefined) return;
    const code = (err as { code?: string }).code ?? '';
    if (started) counts.reset.inc();
    else if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') counts.timeout.inc();
    else if (CONNECT_ERRORS.has(code)) counts.connect.inc();
    else counts.reset.inc();
  }

  /** Passive health and the in-flight count of the endpoint this attempt used. */
  private settle(ok: boolean): void {
    const endpoint = this.endpoint!;
    endpoint.inFlight--;
    this.upstreams.balancer.report(endpoint, ok);
  }
}

function hasLength(raw: ReadonlyArray<Buffer | string>): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 14 && latin1(raw[i]!).toLowerCase() === 'content-length') return true;
  }
  return false;
}

function pairs(raw: ReadonlyArray<Buffer | string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([String(raw[i]), String(raw[i + 1])]);
  return out;
}

const GRPC_STATUS_FIELDS = new Set(['grpc-status', 'grpc-message', 'grpc-status-details-bin']);

/**
 * A gRPC trailers-only response (grpc-status in the one HEADERS frame) cannot be written as one frame through
 * node:http2's compatibility response, and a gRPC client reads status fields only from the frame that ends the
 * stream. So they are taken out of the headers and sent as trailers, which clients read the same.
 */
function takeGrpcStatus(headers: string[]): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (let i = 0; i < headers.length; ) {
    const name = headers[i]!.toLowerCase();
    if (name.startsWith('grpc-') && GRPC_STATUS_FIELDS.has(name)) {
      out ??= {};
      out[name] = headers[i + 1]!;
      headers.splice(i, 2);
    } else i += 2;
  }
  return out;
}

/** node:http2's compatibility response takes trailers as an object only (a list of pairs would be sent as fields 0, 1…). */
function fieldsOf(raw: ReadonlyArray<Buffer | string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = String(raw[i]).toLowerCase();
    const seen = out[name];
    const value = String(raw[i + 1]);
    out[name] = seen === undefined ? value : [seen, value].flat();
  }
  return out;
}

function clientAborted(cause: unknown): VallumError {
  return new VallumError(ErrorCodes.CLIENT_ABORTED, 'The client closed the connection before the response.', { status: 499, cause });
}

export function upstreamError(cause: unknown): VallumError {
  if (cause instanceof VallumError) return cause;
  const code = (cause as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new VallumError(ErrorCodes.UPSTREAM_TIMEOUT, 'The application did not answer in time.', { status: 504, expose: true, cause });
  }
  return new VallumError(ErrorCodes.UPSTREAM_UNAVAILABLE, 'The application is not reachable right now.', { status: 502, expose: true, cause });
}
