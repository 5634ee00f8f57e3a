// W3C Trace Context (traceparent, tracestate): reading a caller's, starting one, and the header a hop sends on.
// Ids come from a pool of random bytes refilled in one call, so a request costs a slice and a hex encoding.
import { randomFillSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A request's place in a trace: Vallum's own span within it, and the caller's span when a trusted caller sent one. */
export interface TraceContext {
  /** 32 lower-case hex digits. */
  traceId: string;
  /** Vallum's span for this request (16 hex digits): the parent the next hop sees. */
  spanId: string;
  /** The trusted caller's span, when the trace was continued. */
  parentSpanId: string | undefined;
  sampled: boolean;
  /** The caller's tracestate, passed on unchanged (trusted callers only). */
  tracestate: string | undefined;
  /** The traceparent the next hop gets: this trace, with `spanId` as its parent. */
  traceparent: string;
}

export interface Traceparent {
  traceId: string;
  parentId: string;
  sampled: boolean;
}

const HEX = /^[0-9a-f]+$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * A traceparent header's fields, or undefined when the header is not valid (W3C Trace Context §3.2): lower-case hex
 * only, version ff refused, all-zero ids refused, version 00 exactly 55 characters, later versions read by their
 * version-00 prefix.
 */
export function parseTraceparent(value: string | string[] | undefined): Traceparent | undefined {
  if (typeof value !== 'string' || value.length < 55) return undefined;
  const version = value.slice(0, 2);
  if (!HEX.test(version) || version === 'ff') return undefined;
  if (version === '00' ? value.length !== 55 : value.length > 55 && value[55] !== '-') return undefined;
  if (value[2] !== '-' || value[35] !== '-' || value[52] !== '-') return undefined;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (!HEX.test(traceId) || !HEX.test(parentId) || !HEX.test(flags)) return undefined;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  return { traceId, parentId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** The version-00 traceparent naming `spanId` as the parent. */
export function formatTraceparent(trace: Pick<TraceContext, 'traceId' | 'spanId' | 'sampled'>): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.sampled ? '01' : '00'}`;
}

export interface TraceStarterOptions {
  /** Share of new traces marked sampled (0–1); a continued trace keeps its caller's flag. */
  sampleRatio: number;
  /** For tests: a number in [0, 1). */
  random?: () => number;
}

export interface TraceStarter {
  /** Continues the caller's trace when `trusted` and its traceparent is valid; starts a new one otherwise. */
  start(headers: IncomingHttpHeaders, trusted: boolean): TraceContext;
  /** A new span id (16 hex digits), e.g. for a child span. */
  spanId(): string;
}

const POOL_BYTES = 4096;

export function createTraceStarter(options: TraceStarterOptions): TraceStarter {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  let at = POOL_BYTES;
  const hex = (bytes: number): string => {
    if (at + bytes > POOL_BYTES) {
      randomFillSync(pool);
      at = 0;
    }
    const out = pool.toString('hex', at, at + bytes);
    at += bytes;
    return out;
  };
  const ratio = options.sampleRatio;
  const random = options.random ?? Math.random;
  const spanId = (): string => {
    const id = hex(8);
    return id === ZERO_SPAN ? spanId() : id;
  };
  const traceId = (): string => {
    const id = hex(16);
    return id === ZERO_TRACE ? traceId() : id;
  };
  return {
    spanId,
    start(headers, trusted) {
      const given = trusted ? parseTraceparent(headers.traceparent) : undefined;
      const id = given?.traceId ?? traceId();
      const span = spanId();
      const sampled = given ? given.sampled : ratio >= 1 || (ratio > 0 && random() < ratio);
      const state = given && headers.tracestate;
      return {
        traceId: id,
        spanId: span,
        parentSpanId: given?.parentId,
        sampled,
        tracestate: typeof state === 'string' ? state : state ? state.join(',') : undefined,
        traceparent: formatTraceparent({ traceId: id, spanId: span, sampled }),
      };
    },
  };
}
