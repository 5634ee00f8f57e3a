// The one access-log line of a request to a fastify app, written at info when its response is done, in place of
// fastify's `incoming request` and `request completed`. The request's trace is started when fastify makes its
// logger (so every line of the request carries the trace id) and kept on the raw request with what the line needs.
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ACCESS_LOG_MESSAGE, LogFields, type Logger, type TraceContext, type TraceStarter } from '@vallum/telemetry';

const ACCESS = Symbol('vallum.access');

interface AccessState {
  trace: TraceContext;
  /** The socket's bytesWritten when the request came: the response's bytes are the difference. */
  written: number;
  /** What a route adds to the line (user, decision, …). */
  fields: Record<string, unknown> | undefined;
}

type WithAccess = IncomingMessage & { [ACCESS]?: AccessState };

/** Starts the request's trace (continuing the caller's when `trusted`) and remembers it for the access line. */
export function startAccess(raw: IncomingMessage, traces: TraceStarter, trusted: boolean): TraceContext {
  const trace = traces.start(raw.headers, trusted);
  (raw as WithAccess)[ACCESS] = { trace, written: raw.socket?.bytesWritten ?? 0, fields: undefined };
  return trace;
}

/** The request's trace; undefined when the app does not log. */
export function traceOf(req: FastifyRequest): TraceContext | undefined {
  return (req.raw as WithAccess)[ACCESS]?.trace;
}

/** Adds fields to the request's access line (e.g. `user`, `decision`). */
export function noteAccess(req: FastifyRequest, fields: Record<string, unknown>): void {
  const state = (req.raw as WithAccess)[ACCESS];
  if (state) state.fields = state.fields ? Object.assign(state.fields, fields) : fields;
}

/** fastify's onResponse hook writing the line to `log` (an access logger: createAccessLogger). */
export function accessLineHook(log: Logger): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (req, reply) => {
    if (!log.isLevelEnabled('info')) return;
    const state = (req.raw as WithAccess)[ACCESS];
    const socket = req.raw.socket;
    const aborted = !reply.raw.writableFinished;
    const length = req.headers['content-length'];
    log.info(
      {
        [LogFields.requestId]: req.id,
        [LogFields.traceId]: state?.trace.traceId,
        method: req.method,
        host: req.headers.host,
        // Credentials in the query (OAuth codes, hand-off tokens) are redacted from the finished line by the logger.
        url: req.url,
        route: req.routeOptions.url,
        ...state?.fields,
        status: aborted && !reply.raw.headersSent ? 499 : reply.statusCode,
        bytes: socket && state ? socket.bytesWritten - state.written : undefined,
        ...(length === undefined ? {} : { bytes_in: Number(length) }),
        duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
        client_ip: req.ip,
        ...(aborted ? { aborted: true } : {}),
      },
      ACCESS_LOG_MESSAGE,
    );
  };
}
