// CORS preflights carry no cookie (the browser never sends credentials on them), so a route that serves
// cross-origin callers can let them through without a session: `cors_allow_preflight`.
import type { IncomingMessage } from 'node:http';
import type { RouteConfig } from '@vallum/config';
import type { AccessResult } from './access.js';

/** Forwarded with no identity: the director still strips client-sent identity headers and applies the route's rules. */
export const PREFLIGHT: AccessResult = Object.freeze({ kind: 'forward', preflight: true });

/**
 * A preflight the route lets through unauthenticated: `OPTIONS` with both `Origin` and
 * `Access-Control-Request-Method` (Fetch standard, CORS-preflight request). Any other OPTIONS needs a session.
 */
export function isAllowedPreflight(route: RouteConfig, req: IncomingMessage): boolean {
  if (!route.corsAllowPreflight || req.method !== 'OPTIONS') return false;
  const { origin } = req.headers;
  const method = req.headers['access-control-request-method'];
  return typeof origin === 'string' && origin !== '' && typeof method === 'string' && method !== '';
}
