// An upstream spoken to over HTTP/2 (`upstream_protocol: h2c | h2`, gRPC's transport), an OwnDispatcher
// (own-dispatcher.ts). One node:http2 session per endpoint carries every request (made on first use, made again once
// it closes or goes away); each request is a stream driven through the same dispatch handler as undici's: headers,
// streamed bodies both ways with backpressure, response trailers (`grpc-status`), timeouts, and a reset stream
// (RST_STREAM CANCEL) when the client goes away.
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import type { Dispatcher as UndiciDispatcher } from 'undici';
import type { UpstreamTlsConfig } from '@vallum/config';
import { OwnDispatcher } from './own-dispatcher.js';
import { upstreamTlsOptions } from './upstream-connection.js';

export interface H2UpstreamOptions {
  tls: UpstreamTlsConfig;
  connectTimeoutMs: number;
  /** An idle session is closed after this long. */
  idleTimeoutMs: number;
  lookup?: LookupFunction;
}

type DispatchHandler = UndiciDispatcher.DispatchHandler;

export class H2Upstream extends OwnDispatcher {
  private session: ClientHttp2Session | undefined;
  private closed = false;

  constructor(
    private readonly origin: URL,
    private readonly options: H2UpstreamOptions,
  ) {
    super();
  }

  override dispatch(opts: UndiciDispatcher.DispatchOptions, handler: DispatchHandler): boolean {
    if (this.closed) {
      handler.onError?.(Object.assign(new Error('the upstream dispatcher is closed'), { code: 'UND_ERR_CLOSED' }));
      return false;
    }
    new H2Exchange(this.current(), this.origin, opts, handler).start();
    return true;
  }

  /** The open session, or a new one. */
  private current(): ClientHttp2Session {
    const open = this.session;
    if (open && !open.closed && !open.destroyed) return open;
    const { tls, connectTimeoutMs, idleTimeoutMs, lookup } = this.options;
    const session = connect(this.origin, { ...upstreamTlsOptions(tls, this.origin), ...(lookup ? { lookup } : {}) });
    this.session = session;
    const connectTimer = setTimeout(
      () => session.destroy(Object.assign(new Error('connecting to the upstream timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })),
      connectTimeoutMs,
    );
    session.once('connect', () => clearTimeout(connectTimer));
    session.once('close', () => {
      clearTimeout(connectTimer);
      if (this.session === session) this.session = undefined;
    });
    // Streams see the error themselves; the session's own must not be unhandled.
    session.on('error', () => {});
    session.once('goaway', () => {
      if (this.session === session) this.session = undefined;
    });
    // GOAWAY once idle: streams still open finish first.
    session.setTimeout(idleTimeoutMs, () => session.close());
    return session;
  }

  protected shutDown(): Promise<void> {
    this.closed = true;
    const session = this.session;
    return new Promise<void>((resolve) => {
      if (!session || session.destroyed) return resolve();
      session.close(() => resolve());
    });
  }

  protected tearDown(): void {
    this.closed = true;
    this.session?.destroy();
  }
}

/** One request as one stream of the session. */
class H2Exchange {
  private stream: ClientHttp2Stream | undefined;
  private finished = false;
  private headersTimer: NodeJS.Timeout | undefined;
  private trailers: Buffer[] = [];

  constructor(
    private readonly session: ClientHttp2Session,
    private readonly origin: URL,
    private readonly opts: UndiciDispatcher.DispatchOptions,
    private readonly handler: DispatchHandler,
  ) {}

  start(): void {
    const { opts, handler } = this;
    const body = opts.body;
    const hasBody = body !== null && body !== undefined;
    let stream: ClientHttp2Stream;
    try {
      stream = this.session.request(this.requestHeaders(), { endStream: !hasBody });
    } catch (err) {
      return this.fail(err as Error);
    }
    this.stream = stream;
    handler.onConnect?.((err) => this.fail(err ?? new Error('aborted')));
    if (this.finished) return;
    if (opts.headersTimeout)
      this.headersTimer = setTimeout(
        () => this.fail(Object.assign(new Error('the upstream did not answer in time'), { code: 'UND_ERR_HEADERS_TIMEOUT' })),
        opts.headersTimeout,
      );
    stream.on('response', (headers) => this.response(headers));
    stream.on('data', (chunk: Buffer) => {
      if (this.handler.onData?.(chunk) === false) stream.pause();
    });
    stream.on('trailers', (trailers) => {
      this.trailers = rawOf(trailers);
    });
    stream.on('end', () => {
      if (this.finished) return;
      this.finished = true;
      clearTimeout(this.headersTimer);
      this.handler.onComplete?.(this.trailers as unknown as string[]);
    });
    // A stream pending on a session that failed to connect is cancelled with the session's error as the cause:
    // its code (ECONNREFUSED…) is what forward.ts retries on and counts.
    stream.on('error', (err: Error & { cause?: unknown }) => this.fail(err.cause instanceof Error ? err.cause : err));
    stream.on('close', () => {
      if (!this.finished) this.fail(Object.assign(new Error(`the upstream closed the stream (code ${stream.rstCode})`), { code: 'UND_ERR_SOCKET' }));
    });
    if (!hasBody) return;
    if (typeof body === 'string' || body instanceof Uint8Array) {
      stream.end(body);
      return;
    }
    const source = body as Readable;
    source.on('error', (err) => this.fail(err));
    source.pipe(stream);
  }

  private requestHeaders(): OutgoingHttpHeaders {
    const { opts, origin } = this;
    const out: OutgoingHttpHeaders = {
      ':method': opts.method,
      ':path': opts.path,
      ':scheme': origin.protocol === 'https:' ? 'https' : 'http',
      // Vallum takes trailers (it forwards them); gRPC servers require this of their clients.
      te: 'trailers',
    };
    const list = opts.headers;
    const add = (name: string, value: string) => {
      const n = name.toLowerCase();
      if (n === 'host') out[':authority'] = value;
      else if (n === 'te') return;
      else {
        const seen = out[n];
        if (seen === undefined) out[n] = value;
        else out[n] = Array.isArray(seen) ? [...seen, value] : [String(seen), value];
      }
    };
    if (Array.isArray(list)) for (let i = 0; i + 1 < list.length; i += 2) add(String(list[i]), String(list[i + 1]));
    else if (list) for (const [name, value] of Object.entries(list)) if (value !== undefined) for (const v of [value].flat()) add(name, String(v));
    out[':authority'] ??= origin.host;
    return out;
  }

  private response(headers: IncomingHttpHeaders): void {
    clearTimeout(this.headersTimer);
    const stream = this.stream!;
    if (this.opts.bodyTimeout)
      stream.setTimeout(this.opts.bodyTimeout, () => this.fail(Object.assign(new Error('the upstream went quiet'), { code: 'UND_ERR_BODY_TIMEOUT' })));
    const status = Number(headers[':status']);
    const resume = () => stream.resume();
    if (this.handler.onHeaders?.(status, rawOf(headers), resume, '') === false) stream.pause();
  }

  private fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.headersTimer);
    const stream = this.stream;
    if (stream && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    this.handler.onError?.(err);
  }
}

/** Header (or trailer) fields without pseudo-headers as undici's raw list: name, value, name, value… */
function rawOf(headers: IncomingHttpHeaders): Buffer[] {
  const out: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name.charCodeAt(0) === 58 || value === undefined) continue;
    for (const v of [value].flat()) out.push(Buffer.from(name, 'latin1'), Buffer.from(String(v), 'latin1'));
  }
  return out;
}
