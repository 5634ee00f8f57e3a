// The route for a request target, under one rule for requests, upgrades and /.vallum/verify: the route is the one
// every reading of the path picks (see path-interpretations.ts); when readings disagree the request is refused
// rather than given to the most permissive route. Only the path is matched: a query or fragment never is.
import type { RouteConfig } from '@vallum/config';
import { normalizePath, splitPathAndQuery } from './normalize-path.js';
import { isAmbiguousPath, otherPathInterpretations } from './path-interpretations.js';
import type { RouteTable } from './route-table.js';

export interface TargetRefusal {
  kind: 'refuse';
  status: 400 | 404;
  title: string;
  message: string;
}

export interface TargetMatch {
  kind: 'route';
  route: RouteConfig;
  host: string;
  /** The normalised path: what is matched, and what the upstream receives. */
  path: string;
  query: string;
  /** Other readings of `path` a back end may apply; the policy must allow each of them too. */
  otherPaths: readonly string[];
}

const badRequest = (message: string): TargetRefusal => ({ kind: 'refuse', status: 400, title: 'Bad request', message });

/** `host` lower-cased; `target` the request target as sent (origin-form: path and query). */
export function matchTarget(routes: RouteTable, host: string, target: string): TargetRefusal | TargetMatch {
  // A fragment is never part of a request target (RFC 9112 §3.2): a back end could still read `#` as one.
  if (target.includes('#')) return badRequest('The request target must not contain a fragment (#).');
  const { path: rawPath, query } = splitPathAndQuery(target);
  const path = normalizePath(rawPath);
  if (path === null) return badRequest('The request path is not valid.');
  const route = routes.match(host, path);
  if (!route) return { kind: 'refuse', status: 404, title: 'Not found', message: `No route is configured for ${host || 'this host'}${path}.` };
  if (route.rejectAmbiguousPaths && isAmbiguousPath(path)) {
    return badRequest('This application does not accept encoded slashes, backslashes or ";" in the path.');
  }
  const otherPaths = otherPathInterpretations(path);
  for (let i = 0; i < otherPaths.length; i++) {
    if (routes.match(host, otherPaths[i]!) !== route) return badRequest('The request path reads as a different path once decoded.');
  }
  return { kind: 'route', route, host, path, query, otherPaths };
}
