// The one access-log line of a proxied request, written at info when its response closes (complete or cut), with
// the decision folded in; a client that went away first is also told once at debug, as a client abort. Per request
// this is one record object and one shared 'close' listener (it finds the record on the response): no closures.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { ErrorCodes } from '@vallum/errors';
import type { Reason } from '@vallum/policy';
import { ACCESS_LOG_MESSAGE, type TraceContext } from '@vallum/telemetry';
import type { AccessResult } from './access.js';
import type { RouteMetrics } from './route-metrics.js';

/** What the forward step needs to know of the request besides its headers. */
export interface RequestIds {
  requestId: string;
  trace: TraceContext;
}

/** The access check's verdict, as the access line names it. */
export type AccessDecision = 'allow' | 'public' | 'preflight' | 'deny' | 'would-deny' | 'sign-in' | 'unauthorized' | 'error' | 'none';

export interface AccessLogOptions {
  log: FastifyBaseLogger;
  /** Called for every closed request whose trace is sampled (the OTLP exporter). */
  onFinished?: ((request: AccessRecord) => void) | undefined;
  /** Request histograms by route id, observed at the same close (empty when metrics are off). */
  routeMetrics?: ReadonlyMap<string, RouteMetrics> | undefined;
}

const RECORD = Symbol('vallum.access-record');

/** One request's access record: made when the request is matched, written when its response closes. */
export class AccessRecord implements RequestIds {
  route: string | undefined = undefined;
  user: string | undefined = undefined;
  decision: AccessDecision = 'none';
  reasons: readonly Reason[] | undefined = undefined;
  /** The client's address as policies see it (through trusted proxies); the peer's when unset. */
  clientIp: string | undefined = undefined;
  status = 0;
  aborted = false;
  /** performance.now() at the start and at the close. */
  ended = 0;
  readonly started = performance.now();
  private readonly socket: Socket;
  /** The socket's bytesWritten when the request came (read only when the line will be written). */
  written = 0;

  constructor(
    readonly req: IncomingMessage,
    readonly requestId: string,
    readonly trace: TraceContext,
  ) {
    this.socket = req.socket;
  }

  /** The access check's answer, folded into the line. */
  decided(result: AccessResult): void {
    switch (result.kind) {
      case 'forward':
        this.decision = result.shadow ? 'would-deny' : result.preflight ? 'preflight' : result.email === undefined ? 'public' : 'allow';
        this.user = result.email;
        if (result.shadow) this.reasons = result.reasons;
        return;
      case 'deny':
        this.decision = 'deny';
        this.user = result.email;
        this.reasons = result.reasons;
        return;
      case 'sign-in':
        this.decision = 'sign-in';
        return;
      case 'respond':
        this.decision = 'unauthorized';
        return;
    }
  }

  /** The line itself: one object, built once, after the close. */
  line(): Record<string, unknown> {
    const { req } = this;
    const line: Record<string, unknown> = {
      request_id: this.requestId,
      trace_id: this.trace.traceId,
      method: req.method,
      host: req.headers.host,
      // Credentials in the query (OAuth codes, hand-off tokens) are redacted from the finished line by the logger.
      url: req.url,
      route: this.route,
      user: this.user,
      decision: this.decision,
      status: this.status,
      bytes: this.socket.bytesWritten - this.written,
      duration_ms: Math.round((this.ended - this.started) * 1000) / 1000,
      client_ip: this.clientIp ?? this.socket.remoteAddress,
    };
    const length = req.headers['content-length'];
    if (length !== undefined) line.bytes_in = Number(length);
    if (this.reasons !== undefined) line.reasons = this.reasons.map((r) => r.code);
    if (this.aborted) line.aborted = true;
    return line;
  }
}

interface Recorded {
  [RECORD]?: AccessRecord;
}

/** How a request's response is watched for its close (made once per handler): a no-op when nothing is logged or exported. */
export function createAccessLog(options: AccessLogOptions): (record: AccessRecord, res: ServerResponse) => void {
  const { log, onFinished } = options;
  const routeMetrics = options.routeMetrics?.size ? options.routeMetrics : undefined;
  const levels = log as { isLevelEnabled?(level: string): boolean };
  const logs = levels.isLevelEnabled?.('info') === true;
  const debug = levels.isLevelEnabled?.('debug') === true;
  function closed(this: ServerResponse & Recorded): void {
    const record = this[RECORD]!;
    record.ended = performance.now();
    record.aborted = !this.writableFinished;
    record.status = this.headersSent ? this.statusCode : 499;
    const counted = routeMetrics && record.route !== undefined ? routeMetrics.get(record.route) : undefined;
    if (counted !== undefined) counted.requests.observe(record.req.method, record.status, (record.ended - record.started) / 1000);
    if (logs) {
      if (record.aborted && debug) {
        log.debug(
          { request_id: record.requestId, trace_id: record.trace.traceId, route: record.route, code: ErrorCodes.CLIENT_ABORTED },
          'client aborted: the connection closed before the response was complete',
        );
      }
      log.info(record.line(), ACCESS_LOG_MESSAGE);
    }
    if (onFinished !== undefined && record.trace.sampled) onFinished(record);
  }
  if (!logs && onFinished === undefined && routeMetrics === undefined) return () => {};
  return (record, res) => {
    if (logs) record.written = record.req.socket.bytesWritten;
    (res as ServerResponse & Recorded)[RECORD] = record;
    res.on('close', closed);
  };
}
