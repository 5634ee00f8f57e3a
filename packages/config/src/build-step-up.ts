// The step-up part of a route's frozen view: `max_session_age` in milliseconds and `acr_values`.
import type { RawRoute } from './schema.js';
import type { ConfigIssue } from './config-issues.js';
import { parseDuration } from './parse-values.js';

export interface RouteStepUpConfig {
  /** A sign-in older than this needs a new one at the IdP (`max_age`); undefined = any age. */
  maxSessionAgeMs: number | undefined;
  /** The session's `acr` must be one of these (the IdP is asked with `acr_values`); undefined = any. */
  acrValues: readonly string[] | undefined;
}

export function buildRouteStepUp(r: RawRoute, index: number, issues: ConfigIssue[]): RouteStepUpConfig {
  const maxSessionAgeMs = r.max_session_age === undefined ? undefined : parseDuration(r.max_session_age);
  // max_age is in whole seconds at the IdP.
  if (maxSessionAgeMs !== undefined && maxSessionAgeMs < 1000) issues.push({ path: ['routes', index, 'max_session_age'], message: 'must be at least 1s' });
  const stepUp = maxSessionAgeMs !== undefined || r.acr_values !== undefined;
  if (stepUp && r.allow_public_unauthenticated_access) {
    issues.push({ path: ['routes', index, 'allow_public_unauthenticated_access'], message: 'a public route cannot also have max_session_age or acr_values' });
  }
  return { maxSessionAgeMs, acrValues: r.acr_values === undefined ? undefined : Object.freeze([...r.acr_values]) };
}
