// Split mode: the proxy reuses an authorize decision only while it cannot change. The key is everything the
// decision was computed from that the proxy knows (identity from the session, route, method, host, normalised path,
// client address); the authorize service says until when (never past a time-based criterion's boundary, never for
// policies that read headers) and under which policy version. A decision under a new version empties the cache, and
// a reload of this proxy (which watches the same policy files) builds a new, empty one.
import { BoundedCache } from '@vallum/session';
import type { Decision } from '@vallum/policy';
import type { AuthorizeApi, AuthorizeRequest } from '@vallum/service-client';

export interface CachingOptions {
  maxEntries?: number;
  now?: () => number;
}

export function decisionCacheKey(input: AuthorizeRequest): string {
  const { routeId, identity, request } = input;
  return JSON.stringify([routeId, request.method, request.host, request.path, request.sourceIp ?? '', identity]);
}

export function createCachingAuthorizeClient(inner: AuthorizeApi, options: CachingOptions = {}): AuthorizeApi & { readonly size: number } {
  const now = options.now ?? Date.now;
  let cache = new BoundedCache<string, Decision>(options.maxEntries ?? 50_000, now);
  let version: string | undefined;
  return {
    async evaluate(input) {
      const key = decisionCacheKey(input);
      const hit = cache.get(key);
      if (hit) return hit;
      const decision = await inner.evaluate(input);
      if (decision.policyVersion !== version) {
        cache = new BoundedCache<string, Decision>(options.maxEntries ?? 50_000, now);
        version = decision.policyVersion;
      }
      if (decision.cacheableUntil !== undefined && decision.policyVersion !== undefined) cache.set(key, decision, decision.cacheableUntil - now());
      return decision;
    },
    get size() {
      return cache.size;
    },
  };
}
