// The listener's limits (see `limits` in vallum.yaml), so a slow or greedy client cannot hold a worker: a request
// head must arrive within headers_timeout (slowloris), idle keep-alive connections close, and at most
// max_connections sockets are open. request_timeout (the whole request, body included) is off by default: Node's
// own 5 minutes would cut legitimate long uploads; a slow body is bounded by the connection cap instead.
import type { Server } from 'node:http';
import type { LimitsConfig } from '@vallum/config';

/** Options for createServer: the timeouts Node checks on its connection sweep, which must run often enough for them. */
export function serverLimitOptions(limits: LimitsConfig): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node's default sweep (every 30 s) would let a 30 s headers timeout run to a minute.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** Applies the limits to a listening server (at start and on reload; the sweep interval stays as started). */
export function applyServerLimits(server: Server, limits: LimitsConfig): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
}
