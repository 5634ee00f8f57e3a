// An HTTP/1.1 upstream spoken to over Vallum's own keep-alive connections (an OwnDispatcher, see own-dispatcher.ts).
// Why not undici: each socket read of a response body came in a fresh Buffer (a 64 KiB allocation counted as V8 external memory), and at 100 KiB responses those
// buffers drove V8's full collections, the largest cost on that path (bench/README.md, "The 100 KiB path"). Here
// each connection reads into one buffer of its own (`net`'s `onread`) and a handler that can take a borrowed chunk
// (`onBorrowedData`) writes it to the client at once; the connection reads again only once the client's socket has
// taken the bytes, so no response byte is copied in JavaScript or allocated per read.
//
// One request at a time per connection (no pipelining), up to `maxConnections` per upstream, then requests queue.
// Response framing follows RFC 9112: no body for HEAD, 1xx, 204 and 304; chunked (trailers kept); Content-Length;
// otherwise until the upstream closes. A response head that cannot be parsed, or framing that disagrees with
// itself, fails the exchange (502) and closes the connection.
import { connect as netConnect, type LookupFunction, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { Dispatcher as UndiciDispatcher } from 'undici';
import type { UpstreamTlsConfig } from '@vallum/config';
import { OwnDispatcher } from './own-dispatcher.js';
import { hostnameOf, upstreamTlsOptions } from './upstream-connection.js';

export interface H1UpstreamOptions {
  tls: UpstreamTlsConfig;
  connectTimeoutMs: number;
  /** Longest an idle connection is kept, whatever the upstream's Keep-Alive says. */
  keepAliveMaxMs: number;
  /** Longest a connection is reused at all (a named upstream's DNS TTL, so a new address is picked up). */
  maxAgeMs?: number | undefined;
  /** Connections per upstream; more requests wait for one. */
  maxConnections: number;
  lookup?: LookupFunction | undefined;
}

/** A dispatch handler that can write a chunk the dispatcher lends it (valid only during the call unless it returns false). */
export interface BorrowingHandler extends UndiciDispatcher.DispatchHandler {
  /**
   * `chunk` is a view of the connection's read buffer. Returning true says the bytes were consumed (written or
   * copied); false that they are still held, and the connection reads no more until the `resume` given to
   * `onHeaders` is called.
   */
  onBorrowedData?(chunk: Buffer): boolean;
}

/** Read buffer per connection: a 100 KiB response arrives in two reads. */
const READ_BUFFER_BYTES = 64 * 1024;
/** Largest response head (status line and header fields) accepted. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Longest chunk-size line (size and extensions) accepted. */
const MAX_CHUNK_LINE = 4096;
/** How often timeouts and idle connections are checked: timeouts fire up to this late. */
const SWEEP_MS = 250;

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE_BAD = /[^\t\x20-\x7e\x80-\xff]/;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

type Phase = 'head' | 'length' | 'chunked' | 'close' | 'done';
type ChunkStep = 'size' | 'data' | 'data-end' | 'trailers';

export class H1Upstream extends OwnDispatcher {
  private readonly idle: H1Connection[] = [];
  private readonly busy = new Set<H1Connection>();
  private readonly waiting: H1Exchange[] = [];
  private connecting = 0;
  private closed = false;
  private sweeper: NodeJS.Timeout | undefined;
  private whenEmpty: (() => void) | undefined;
  readonly host: string;
  readonly port: number;

  constructor(
    readonly origin: URL,
    readonly options: H1UpstreamOptions,
  ) {
    super();
    this.host = hostnameOf(origin);
    this.port = Number(origin.port) || (origin.protocol === 'https:' ? 443 : 80);
  }

  override dispatch(opts: UndiciDispatcher.DispatchOptions, handler: BorrowingHandler): boolean {
    if (this.closed) {
      handler.onError?.(Object.assign(new Error('the upstream dispatcher is closed'), { code: 'UND_ERR_CLOSED' }));
      return false;
    }
    const exchange = new H1Exchange(this, opts, handler);
    if (!exchange.begin()) return true;
    this.assign(exchange);
    return true;
  }

  /** Runs `exchange` on an idle connection, a new one, or later. */
  assign(exchange: H1Exchange, fresh = false): void {
    if (!fresh) {
      const now = performance.now();
      for (let conn = this.idle.pop(); conn !== undefined; conn = this.idle.pop()) {
        if (conn.reusable(now)) return this.run(conn, exchange);
        conn.destroy();
      }
    }
    if (this.busy.size + this.connecting >= this.options.maxConnections) {
      this.waiting.push(exchange);
      return;
    }
    this.connecting++;
    const conn = new H1Connection(this);
    conn.connect(exchange, () => {
      this.connecting--;
      this.run(conn, exchange);
    });
  }

  private run(conn: H1Connection, exchange: H1Exchange): void {
    this.busy.add(conn);
    this.sweep();
    conn.start(exchange);
  }

  /** The connection finished its exchange and can take another. */
  released(conn: H1Connection): void {
    this.busy.delete(conn);
    const next = this.waiting.shift();
    if (next) return this.run(conn, next);
    if (this.closed) return conn.destroy();
    conn.idle();
    this.idle.push(conn);
  }

  /** The connection closed (or failed to connect: `connecting` says so). */
  gone(conn: H1Connection, connecting: boolean): void {
    if (connecting) this.connecting--;
    this.busy.delete(conn);
    const at = this.idle.indexOf(conn);
    if (at !== -1) this.idle.splice(at, 1);
    const next = this.waiting.shift();
    if (next) this.assign(next, true);
    if (this.whenEmpty && this.busy.size === 0 && this.connecting === 0) this.whenEmpty();
  }

  /** Checks timeouts every SWEEP_MS while any connection is open. */
  private sweep(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const conn of this.busy) conn.exchange?.checkTimeout(now);
      for (let i = this.idle.length - 1; i >= 0; i--) if (!this.idle[i]!.reusable(now)) this.idle[i]!.destroy();
      if (this.busy.size === 0 && this.idle.length === 0 && this.connecting === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  protected shutDown(): Promise<void> {
    this.closed = true;
    for (const conn of this.idle.splice(0)) conn.destroy();
    return new Promise<void>((resolve) => {
      if (this.busy.size === 0 && this.connecting === 0 && this.waiting.length === 0) return resolve();
      this.whenEmpty = resolve;
    });
  }

  protected tearDown(err: Error | null): void {
    this.closed = true;
    const reason = err ?? Object.assign(new Error('the upstream dispatcher was destroyed'), { code: 'UND_ERR_DESTROYED' });
    for (const exchange of this.waiting.splice(0)) exchange.fail(reason);
    for (const conn of [...this.idle.splice(0), ...this.busy]) conn.destroy(reason);
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}

/** One keep-alive connection: a socket, its read buffer, and the exchange it is serving. */
class H1Connection {
  private socket: Socket | undefined;
  private readonly buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  exchange: H1Exchange | undefined;
  /** The exchange this connection is being opened for: a failed connect fails it. */
  private opening: H1Exchange | undefined;
  private connected = false;
  private destroyed = false;
  private gone = false;
  /** Responses served so far: a reused connection may have been closed by the upstream meanwhile. */
  private served = 0;
  private readonly createdAt = performance.now();
  private idleSince = 0;
  /** Idle limit: keepAliveMaxMs, or less when the upstream's Keep-Alive header says so. */
  idleLimitMs: number;

  constructor(private readonly upstream: H1Upstream) {
    this.idleLimitMs = upstream.options.keepAliveMaxMs;
  }

  connect(exchange: H1Exchange, ready: () => void): void {
    const { upstream } = this;
    const { options, origin } = upstream;
    this.opening = exchange;
    const onread = { buffer: this.buffer, callback: (n: number, buf: Buffer) => this.read(n, buf) };
    const base = { host: upstream.host, port: upstream.port, onread, ...(options.lookup ? { lookup: options.lookup } : {}) };
    const opened = () => {
      this.connected = true;
      this.opening = undefined;
      socket.setTimeout(0);
      ready();
    };
    const socket = origin.protocol === 'https:' ? tlsConnect({ ...base, ...upstreamTlsOptions(options.tls, origin) }, opened) : netConnect(base, opened);
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(options.connectTimeoutMs, () => {
      if (!this.connected) socket.destroy(Object.assign(new Error('connecting to the upstream timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    });
    socket.on('error', (err) => this.closed(err));
    socket.on('close', () => this.closed(undefined));
    socket.on('end', () => {
      // The upstream closed its side: a response framed by the close ends here; anything else was cut.
      this.exchange?.upstreamEnded();
      this.destroy();
    });
    socket.on('drain', () => this.exchange?.drained());
  }

  start(exchange: H1Exchange): void {
    this.exchange = exchange;
    this.socket!.ref();
    exchange.attach(this, this.socket!, this.served > 0);
  }

  /** An idle connection does not keep the process alive (as undici's do not). */
  idle(): void {
    this.idleSince = performance.now();
    this.socket?.unref();
  }

  reusable(now: number): boolean {
    if (this.destroyed || !this.connected) return false;
    if (now - this.idleSince > this.idleLimitMs) return false;
    const maxAge = this.upstream.options.maxAgeMs;
    return maxAge === undefined || now - this.createdAt < maxAge;
  }

  private read(n: number, buf: Buffer): boolean {
    const exchange = this.exchange;
    if (exchange === undefined) {
      // Bytes from an upstream with no request outstanding: nothing can be trusted on this connection any more.
      this.destroy();
      return false;
    }
    return exchange.feed(buf, 0, n);
  }

  /** The exchange is over: the connection is kept when `keep` and still open. */
  finished(keep: boolean): void {
    this.exchange = undefined;
    this.served++;
    if (keep && !this.destroyed) this.upstream.released(this);
    else this.destroy();
  }

  resumeReading(): void {
    if (!this.destroyed) this.socket?.resume();
  }

  private closed(err: Error | undefined): void {
    this.destroyed = true;
    const exchange = this.exchange ?? this.opening;
    this.exchange = undefined;
    this.opening = undefined;
    exchange?.connectionLost(err);
    this.leave();
  }

  destroy(err?: Error): void {
    this.destroyed = true;
    const exchange = this.exchange;
    this.exchange = undefined;
    if (exchange && err) exchange.fail(err);
    this.socket?.destroy();
    this.leave();
  }

  private leave(): void {
    if (this.gone) return;
    this.gone = true;
    this.upstream.gone(this, !this.connected);
  }
}

/** One request and its response over one connection. */
class H1Exchange {
  private conn: H1Connection | undefined;
  /** Whether the connection had served responses before this one (the upstream may have closed it meanwhile). */
  private reused = false;
  private phase: Phase = 'head';
  private finished = false;
  /** A response head split over reads, copied. */
  private headPart: Buffer | undefined;
  private keepAlive = true;
  /** Bytes left of the body (Content-Length) or of the current chunk. */
  private left = 0;
  private chunkStep: ChunkStep = 'size';
  private line = '';
  private trailers: string[] | undefined;
  private sentAt = 0;
  private lastRead = 0;
  /** The handler asked for a pause (backpressure): nothing more is delivered until it calls `resume`. */
  private paused = false;
  /** The handler still holds a borrowed chunk: the connection must not read into its buffer again. */
  private held = false;
  /** Where processing stopped in the read buffer when the handler paused. */
  private resumeBuf: Buffer | undefined;
  private resumeAt = 0;
  private resumeEnd = 0;
  private feeding = false;
  private retried = false;
  private receivedAny = false;
  private readonly headOnly: boolean;
  private readonly borrowing: boolean;
  /** A request body still being streamed upstream. */
  private body: Readable | undefined;

  constructor(
    private readonly upstream: H1Upstream,
    private readonly opts: UndiciDispatcher.DispatchOptions,
    private readonly handler: BorrowingHandler,
  ) {
    this.headOnly = opts.method === 'HEAD';
    this.borrowing = typeof handler.onBorrowedData === 'function';
  }

  /** Gives the handler its abort; false when it aborted at once. */
  begin(): boolean {
    this.handler.onConnect?.((err) => this.fail(err ?? new Error('aborted')));
    return !this.finished;
  }

  attach(conn: H1Connection, socket: Socket, reused: boolean): void {
    if (this.finished) return conn.finished(true);
    this.conn = conn;
    this.reused = reused;
    this.sentAt = this.lastRead = performance.now();
    try {
      this.send(socket);
    } catch (err) {
      // Nothing was written: the connection stays good.
      this.conn = undefined;
      conn.finished(true);
      this.fail(err as Error);
    }
  }

  private send(socket: Socket): void {
    const { opts } = this;
    const method = opts.method;
    const body = opts.body;
    let head = `${method} ${opts.path} HTTP/1.1\r\n`;
    let hasHost = false;
    let hasLength = false;
    const list = opts.headers;
    const pairs: Array<string | string[] | undefined> = Array.isArray(list) ? list : list ? Object.entries(list).flat() : [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const name = String(pairs[i]);
      const values = pairs[i + 1];
      if (values === undefined) continue;
      if (name.length === 4 && name.toLowerCase() === 'host') hasHost = true;
      else if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
      if (Array.isArray(values)) for (const value of values) head += headerLine(name, value);
      else head += headerLine(name, String(values));
    }
    if (!hasHost) head += `host: ${this.upstream.origin.host}\r\n`;
    if (body === null || body === undefined) {
      if (!hasLength && BODY_METHODS.has(method)) head += 'content-length: 0\r\n';
      socket.write(`${head}\r\n`);
      return;
    }
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      if (!hasLength) head += `content-length: ${bytes.byteLength}\r\n`;
      socket.cork();
      socket.write(`${head}\r\n`);
      socket.write(bytes);
      socket.uncork();
      return;
    }
    const source = body as Readable;
    this.body = source;
    const chunked = !hasLength;
    if (chunked) head += 'transfer-encoding: chunked\r\n';
    socket.write(`${head}\r\n`);
    source.on('data', (chunk: Buffer | string) => {
      if (this.body !== source) return;
      let ok: boolean;
      if (chunked) {
        const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
        if (size === 0) return;
        socket.cork();
        socket.write(`${size.toString(16)}\r\n`);
        socket.write(chunk);
        ok = socket.write('\r\n');
        socket.uncork();
      } else ok = socket.write(chunk);
      if (!ok) source.pause();
    });
    source.once('end', () => {
      if (this.body !== source) return;
      if (chunked) socket.write('0\r\n\r\n');
      this.body = undefined;
    });
    source.once('error', (err) => this.fail(err));
    source.once('aborted', () => this.fail(new Error('the client aborted its request body')));
  }

  /** The connection's socket can take more: a paused request body goes on. */
  drained(): void {
    this.body?.resume();
  }

  /** Reads the bytes buf[start, end) of the response; false pauses the connection's reading. */
  feed(buf: Buffer, start: number, end: number): boolean {
    if (this.finished) return !this.held;
    this.receivedAny = true;
    this.lastRead = performance.now();
    this.feeding = true;
    try {
      return this.process(buf, start, end);
    } catch (err) {
      this.fail(err as Error);
      return false;
    } finally {
      this.feeding = false;
    }
  }

  private process(buf: Buffer, start: number, end: number): boolean {
    let at = start;
    while (at < end && !this.finished) {
      switch (this.phase) {
        case 'head':
          at = this.readHead(buf, at, end);
          break;
        case 'length': {
          const n = Math.min(this.left, end - at);
          this.left -= n;
          this.deliver(buf, at, at + n);
          at += n;
          if (this.left === 0) this.complete(at < end);
          break;
        }
        case 'close':
          this.deliver(buf, at, end);
          at = end;
          break;
        case 'chunked':
          at = this.readChunked(buf, at, end);
          break;
        case 'done':
          at = end;
          break;
      }
      if (this.paused && !this.finished) {
        this.resumeBuf = buf;
        this.resumeAt = at;
        this.resumeEnd = end;
        return false;
      }
    }
    return !this.held;
  }

  /** The handler is done with what it held or asked to pause for: go on with the rest of the buffer, then read again. */
  private readonly resume = (): void => {
    if (this.finished) {
      // The response ended while the handler held its last chunk: now the connection may read (or go) again.
      if (this.held) {
        this.held = false;
        const conn = this.conn;
        this.release();
        conn?.resumeReading();
      }
      return;
    }
    if (!this.paused) return;
    this.paused = false;
    this.held = false;
    this.lastRead = performance.now();
    if (this.feeding) return;
    const conn = this.conn;
    const buf = this.resumeBuf;
    this.resumeBuf = undefined;
    if (buf !== undefined && this.resumeAt < this.resumeEnd && !this.feed(buf, this.resumeAt, this.resumeEnd)) return;
    conn?.resumeReading();
  };

  /** Hands body bytes to the handler, which may ask to pause. */
  private deliver(buf: Buffer, from: number, to: number): void {
    if (from === to) return;
    const chunk = buf.subarray(from, to);
    const { handler } = this;
    if (this.borrowing) {
      if (!handler.onBorrowedData!(chunk)) this.paused = this.held = true;
    } else if (handler.onData?.(Buffer.from(chunk)) === false) this.paused = true;
  }

  private readHead(buf: Buffer, at: number, end: number): number {
    const prior = this.headPart;
    const data = prior ? Buffer.concat([prior, buf.subarray(at, end)]) : buf;
    const from = prior ? 0 : at;
    const to = prior ? data.length : end;
    const stop = data.indexOf('\r\n\r\n', prior ? Math.max(0, prior.length - 3) : from, 'latin1');
    if (stop === -1 || stop + 4 > to) {
      if (to - from > MAX_HEAD_BYTES) throw protocolError('the upstream sent a response head over 64 KiB');
      this.headPart = Buffer.from(data.subarray(from, to));
      return end;
    }
    if (stop - from > MAX_HEAD_BYTES) throw protocolError('the upstream sent a response head over 64 KiB');
    this.headPart = undefined;
    this.parseHead(data.toString('latin1', from, stop));
    return at + (stop + 4 - from) - (prior ? prior.length : 0);
  }

  private parseHead(head: string): void {
    const lineEnd = head.indexOf('\r\n');
    const statusLine = lineEnd === -1 ? head : head.slice(0, lineEnd);
    const minor = statusLine.charCodeAt(7) - 48;
    const status = Number(statusLine.slice(9, 12));
    if (
      !statusLine.startsWith('HTTP/1.') ||
      (minor !== 0 && minor !== 1) ||
      statusLine.charCodeAt(8) !== 32 ||
      !(status >= 100 && status <= 999) ||
      (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32)
    ) {
      throw protocolError('the upstream sent a malformed status line');
    }
    const raw: string[] = [];
    let length = -1;
    let chunked = false;
    let codings = false;
    let connection = '';
    let keepAliveHint = '';
    for (let at = lineEnd === -1 ? head.length : lineEnd + 2; at < head.length; ) {
      let next = head.indexOf('\r\n', at);
      if (next === -1) next = head.length;
      const first = head.charCodeAt(at);
      if (first === 32 || first === 9) throw protocolError('the upstream folded a header line');
      const colon = head.indexOf(':', at);
      if (colon === -1 || colon >= next || colon === at) throw protocolError('the upstream sent a malformed header line');
      const name = head.slice(at, colon);
      const value = head.slice(colon + 1, next).trim();
      if (!HEADER_NAME.test(name) || HEADER_VALUE_BAD.test(value)) throw protocolError('the upstream sent an invalid header');
      raw.push(name, value);
      if (name.length === 14 && name.toLowerCase() === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (length !== -1 && length !== Number(value))) throw protocolError('the upstream sent an invalid Content-Length');
        length = Number(value);
      } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
        codings = true;
        chunked = /(?:^|,)[ \t]*chunked[ \t]*$/i.test(value);
      } else if (name.length === 10) {
        const lower = name.toLowerCase();
        if (lower === 'connection') connection += `,${value.toLowerCase()}`;
        else if (lower === 'keep-alive') keepAliveHint = value;
      }
      at = next + 2;
    }
    if (status < 200) {
      if (status === 101) throw protocolError('the upstream switched protocols on a request that asked for no upgrade');
      // 100 Continue, 103 Early Hints…: the final response follows.
      return;
    }
    if (connection === '') this.keepAlive = minor === 1;
    else {
      const tokens = connection.split(',').map((t) => t.trim());
      this.keepAlive = minor === 1 ? !tokens.includes('close') : tokens.includes('keep-alive');
    }
    const hinted = keepAliveHint === '' ? null : /timeout\s*=\s*(\d+)/i.exec(keepAliveHint);
    if (hinted && this.conn) {
      // The upstream closes idle connections after this many seconds: stop reusing them a second before.
      const ms = Number(hinted[1]) * 1000 - 1000;
      if (ms <= 0) this.keepAlive = false;
      else this.conn.idleLimitMs = Math.min(this.upstream.options.keepAliveMaxMs, ms);
    }
    if (this.headOnly || status === 204 || status === 304) this.phase = 'done';
    else if (codings) {
      // Transfer-Encoding overrides Content-Length (and the connection is not trusted again); codings that do not end
      // in chunked run until the upstream closes.
      if (length !== -1 || !chunked) this.keepAlive = false;
      this.phase = chunked ? 'chunked' : 'close';
    } else if (length !== -1) {
      this.left = length;
      this.phase = length === 0 ? 'done' : 'length';
    } else {
      this.phase = 'close';
      this.keepAlive = false;
    }
    if (this.handler.onHeaders?.(status, raw as unknown as Buffer[], this.resume, statusLine.slice(13)) === false) this.paused = true;
    if (this.phase === 'done') this.complete(false);
  }

  /** Advances through chunked framing from `at`; returns where it stopped. */
  private readChunked(buf: Buffer, at: number, end: number): number {
    while (at < end && !this.finished && !this.paused) {
      switch (this.chunkStep) {
        case 'size': {
          const nl = buf.indexOf(10, at);
          if (nl === -1 || nl >= end) {
            this.line += buf.toString('latin1', at, end);
            if (this.line.length > MAX_CHUNK_LINE) throw protocolError('the upstream sent an overlong chunk size line');
            return end;
          }
          const line = this.line + buf.toString('latin1', at, nl);
          this.line = '';
          at = nl + 1;
          const semi = line.indexOf(';');
          const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw protocolError('the upstream sent an invalid chunk size');
          this.left = Number.parseInt(hex, 16);
          if (this.left === 0) {
            this.chunkStep = 'trailers';
            this.trailers = [];
          } else this.chunkStep = 'data';
          break;
        }
        case 'data': {
          const n = Math.min(this.left, end - at);
          this.left -= n;
          this.deliver(buf, at, at + n);
          at += n;
          if (this.left === 0) this.chunkStep = 'data-end';
          break;
        }
        case 'data-end': {
          const c = buf[at]!;
          at++;
          if (c === 10) this.chunkStep = 'size';
          else if (c !== 13) throw protocolError('the upstream sent a chunk without its line end');
          break;
        }
        case 'trailers': {
          const nl = buf.indexOf(10, at);
          if (nl === -1 || nl >= end) {
            this.line += buf.toString('latin1', at, end);
            if (this.line.length > MAX_HEAD_BYTES) throw protocolError('the upstream sent trailers over 64 KiB');
            return end;
          }
          const line = (this.line + buf.toString('latin1', at, nl)).replace(/\r$/, '');
          this.line = '';
          at = nl + 1;
          if (line === '') {
            this.complete(at < end);
            return at;
          }
          const colon = line.indexOf(':');
          if (colon <= 0) throw protocolError('the upstream sent a malformed trailer');
          const name = line.slice(0, colon);
          const value = line.slice(colon + 1).trim();
          if (!HEADER_NAME.test(name) || HEADER_VALUE_BAD.test(value)) throw protocolError('the upstream sent an invalid trailer');
          this.trailers!.push(name, value);
          break;
        }
      }
    }
    return at;
  }

  /** The response is complete; `extra` says bytes followed it in the same read. */
  private complete(extra: boolean): void {
    if (this.finished) return;
    this.phase = 'done';
    this.finished = true;
    if (extra) this.keepAlive = false;
    this.handler.onComplete?.((this.trailers ?? []) as unknown as string[]);
    // A borrowed chunk still held: the connection goes back once the handler lets go (see `resume`).
    if (!this.held) this.release();
  }

  private release(): void {
    const conn = this.conn;
    if (!conn) return;
    this.conn = undefined;
    const body = this.body;
    if (body) {
      // The upstream answered before the request body was all sent: the rest is read and dropped, and the
      // connection is not reused.
      this.body = undefined;
      body.removeAllListeners('data');
      body.resume();
      return conn.finished(false);
    }
    conn.finished(this.keepAlive);
  }

  /** The upstream closed its side of the connection. */
  upstreamEnded(): void {
    if (this.finished) return;
    if (this.phase === 'close') {
      this.keepAlive = false;
      return this.complete(false);
    }
    this.connectionLost(undefined);
  }

  /** The connection closed or failed under this exchange. */
  connectionLost(err: Error | undefined): void {
    if (this.finished) return;
    const attached = this.conn !== undefined;
    this.conn = undefined;
    if (this.phase === 'close' && err === undefined) {
      this.keepAlive = false;
      return this.complete(false);
    }
    // A kept-alive connection the upstream had just closed: the request never reached it. Sent again once, on a new
    // connection, when that is safe (no response byte seen, no request body).
    const bodyless = this.opts.body === null || this.opts.body === undefined;
    if (attached && this.reused && !this.receivedAny && bodyless && !this.retried) {
      this.retried = true;
      this.phase = 'head';
      this.upstream.assign(this, true);
      return;
    }
    this.fail(err ?? Object.assign(new Error('the upstream closed the connection'), { code: 'UND_ERR_SOCKET' }));
  }

  checkTimeout(now: number): void {
    const { headersTimeout, bodyTimeout } = this.opts;
    if (this.finished) {
      // A handler that never lets go of its last chunk must not keep the connection from closing.
      if (this.held && now - this.lastRead > (bodyTimeout || this.upstream.options.keepAliveMaxMs)) {
        this.held = false;
        const conn = this.conn;
        this.conn = undefined;
        conn?.destroy();
      }
      return;
    }
    if (this.paused) return;
    if (this.phase === 'head') {
      if (headersTimeout && now - this.sentAt > headersTimeout) {
        this.fail(Object.assign(new Error('the upstream did not answer in time'), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
      }
    } else if (bodyTimeout && now - this.lastRead > bodyTimeout) {
      this.fail(Object.assign(new Error('the upstream went quiet'), { code: 'UND_ERR_BODY_TIMEOUT' }));
    }
  }

  /** Ends the exchange with `err`; its connection, if any, is closed. */
  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.held = false;
    const body = this.body;
    this.body = undefined;
    body?.removeAllListeners('data');
    const conn = this.conn;
    this.conn = undefined;
    conn?.destroy();
    this.handler.onError?.(err);
  }
}

function protocolError(message: string): Error {
  return Object.assign(new Error(message), { code: 'UND_ERR_INVALID_RESPONSE' });
}

/** One request header line; a name or value that could split the request is refused. */
function headerLine(name: string, value: string): string {
  if (!HEADER_NAME.test(name) || HEADER_VALUE_BAD.test(value)) throw invalidHeader(name);
  return `${name}: ${value}\r\n`;
}

function invalidHeader(name: string): Error {
  return Object.assign(new Error(`invalid request header ${JSON.stringify(name)}`), { code: 'UND_ERR_INVALID_ARG' });
}
