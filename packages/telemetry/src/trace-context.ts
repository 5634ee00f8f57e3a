// W3C Trace Context (traceparent, tracestate): reading a caller's, starting one, and the header a hop sends on.
// Ids come from a pool of random bytes refilled in one call. A new trace's traceparent is written as ASCII into one
// scratch buffer and read out as one string, its ids being slices of it: per request that is one string and no
// call into C++ for hex, where two hex strings and a concatenation cost several times the allocation.
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
  /** A new request id: a random (version 4) UUID, as `crypto.randomUUID()` makes, from the same pool. */
  requestId(): string;
}

const POOL_BYTES = 4096;
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Where a new trace's traceparent has its trace id, span id and flags. */
const TRACE_AT = 3;
const SPAN_AT = 36;
const FLAGS_AT = 54;

/** `n` bytes of `from` at `at`, as lower-case hex into `to` at `into`; false when they are all zero. */
function writeHex(from: Buffer, at: number, n: number, to: Buffer, into: number): boolean {
  let any = 0;
  for (let i = 0; i < n; i++) {
    const b = from[at + i]!;
    any |= b;
    to[into + 2 * i] = HEX_DIGITS[b >> 4]!;
    to[into + 2 * i + 1] = HEX_DIGITS[b & 15]!;
  }
  return any !== 0;
}

export function createTraceStarter(options: TraceStarterOptions): TraceStarter {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  let at = POOL_BYTES;
  /** The offset of `bytes` fresh random bytes in the pool. */
  const take = (bytes: number): number => {
    if (at + bytes > POOL_BYTES) {
      randomFillSync(pool);
      at = 0;
    }
    const from = at;
    at += bytes;
    return from;
  };
  const hex = (bytes: number): string => {
    const from = take(bytes);
    return pool.toString('hex', from, from + bytes);
  };
  const line = Buffer.from(formatTraceparent({ traceId: ZERO_TRACE, spanId: ZERO_SPAN, sampled: false }), 'latin1');
  const uuid = Buffer.from('00000000-0000-4000-8000-000000000000', 'latin1');
  const ratio = options.sampleRatio;
  const random = options.random ?? Math.random;
  const spanId = (): string => {
    const id = hex(8);
    return id === ZERO_SPAN ? spanId() : id;
  };
  /** A new trace's traceparent (ids drawn again while all zero, which the format forbids). */
  const newTraceparent = (sampled: boolean): string => {
    while (!writeHex(pool, take(16), 16, line, TRACE_AT));
    while (!writeHex(pool, take(8), 8, line, SPAN_AT));
    line[FLAGS_AT] = sampled ? 0x31 : 0x30;
    return line.toString('latin1');
  };
  return {
    spanId,
    requestId() {
      const from = take(16);
      // The version (4) and variant (10xx) bits of RFC 9562 §5.4, as node's randomUUID sets them.
      pool[from + 6] = (pool[from + 6]! & 0x0f) | 0x40;
      pool[from + 8] = (pool[from + 8]! & 0x3f) | 0x80;
      writeHex(pool, from, 4, uuid, 0);
      writeHex(pool, from + 4, 2, uuid, 9);
      writeHex(pool, from + 6, 2, uuid, 14);
      writeHex(pool, from + 8, 2, uuid, 19);
      writeHex(pool, from + 10, 6, uuid, 24);
      return uuid.toString('latin1');
    },
    start(headers, trusted) {
      const given = trusted ? parseTraceparent(headers.traceparent) : undefined;
      if (given === undefined) {
        const sampled = ratio >= 1 || (ratio > 0 && random() < ratio);
        const traceparent = newTraceparent(sampled);
        return {
          traceId: traceparent.slice(TRACE_AT, TRACE_AT + 32),
          spanId: traceparent.slice(SPAN_AT, SPAN_AT + 16),
          parentSpanId: undefined,
          sampled,
          tracestate: undefined,
          traceparent,
        };
      }
      const span = spanId();
      const state = headers.tracestate;
      return {
        traceId: given.traceId,
        spanId: span,
        parentSpanId: given.parentId,
        sampled: given.sampled,
        tracestate: typeof state === 'string' ? state : state ? state.join(',') : undefined,
        traceparent: formatTraceparent({ traceId: given.traceId, spanId: span, sampled: given.sampled }),
      };
    },
  };
}
