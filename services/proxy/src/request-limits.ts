// Per-route limits applied once access is granted: the route's rate limit (per user or per client address) and its
// largest request body (Content-Length checked up front; a chunked body is counted as it streams and cut past it).
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { RouteConfig } from '@vallum/config';
import { ErrorCodes, VallumError } from '@vallum/errors';
import { addressKey, createRateLimiter, type RateLimiter, type RateLimiterStats } from '@vallum/server-kit';
import type { RouteMetrics } from './route-metrics.js';
import { bodyOfUnknownLength } from './request-framing.js';

export interface RequestLimits {
  /** Why the request may not be forwarded (429, 413), or undefined. `user` is the signed-in user, if any. */
  refusal(route: RouteConfig, req: IncomingMessage, user: string | undefined, clientIp: string | undefined): VallumError | undefined;
  /** The body to forward: the request itself, or a copy that fails with 413 once it passes the route's limit. */
  body(route: RouteConfig, req: IncomingMessage): Readable | undefined;
  /** Counters per route id, for metrics. */
  stats(): Record<string, RateLimiterStats>;
}

/** `metrics`: route id → where a 413 is counted (empty without metrics). */
export function createRequestLimits(routes: readonly RouteConfig[], metrics?: ReadonlyMap<string, Pick<RouteMetrics, 'bodyTooLarge'>>): RequestLimits {
  const limiters = new Map<string, RateLimiter>();
  for (const route of routes) if (route.rateLimit) limiters.set(route.id, createRateLimiter(route.rateLimit));
  const countTooLarge = (route: RouteConfig) => metrics?.get(route.id)?.bodyTooLarge.inc();
  return {
    refusal(route, req, user, clientIp) {
      const max = route.maxRequestBodyBytes;
      const length = req.headers['content-length'];
      if (max !== undefined && length !== undefined && Number(length) > max) {
        countTooLarge(route);
        return tooLarge(max);
      }
      const limiter = limiters.get(route.id);
      if (!limiter) return undefined;
      // A route keyed by user that lets anonymous requests in (public) budgets them by address.
      const key = route.rateLimit!.key === 'user' && user ? `u:${user}` : `a:${addressKey(clientIp)}`;
      const wait = limiter.take(key);
      if (wait === 0) return undefined;
      return new VallumError(ErrorCodes.RATE_LIMITED, `Too many requests. Try again in ${wait} second${wait === 1 ? '' : 's'}.`, {
        status: 429,
        expose: true,
        details: { headers: { 'retry-after': String(wait) } },
      });
    },
    body(route, req) {
      const max = route.maxRequestBodyBytes;
      if (max === undefined || !bodyOfUnknownLength(req)) return undefined;
      const counted = new BodyLimit(max, () => countTooLarge(route));
      // Not pipeline(): a failure must not destroy the client's socket, which still carries the 413.
      req.on('error', (err) => counted.destroy(err));
      req.on('aborted', () => counted.destroy(new Error('the client went away')));
      req.pipe(counted);
      return counted;
    },
    stats: () => Object.fromEntries([...limiters].map(([id, l]) => [id, l.stats()])),
  };
}

function tooLarge(max: number): VallumError {
  return new VallumError(ErrorCodes.REQUEST_BODY_TOO_LARGE, `The request body is larger than this application accepts (${max} bytes).`, {
    status: 413,
    expose: true,
    // The rest of the body is never read: the connection cannot carry another request.
    details: { headers: { connection: 'close' } },
  });
}

class BodyLimit extends Transform {
  private seen = 0;
  constructor(
    private readonly max: number,
    private readonly onTooLarge: () => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) {
      this.onTooLarge();
      return done(tooLarge(this.max));
    }
    done(null, chunk);
  }
}
