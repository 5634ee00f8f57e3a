// Split mode: the proxy reuses an authorize decision only while it cannot change. The key is everything the
// decision was computed from that the proxy knows (identity from the session, route, method, host, normalised path,
// client address, client certificate); the authorize service says until when (never past a time-based criterion's boundary, never for
// policies that read headers) and under which policy version. Only decisions stamped with the version of this
// proxy's own config are kept, so while the two processes reload one after the other nothing stale is cached; a
// reload of this proxy (which watches the same policy files) builds a new, empty cache. The key holds a user's whole
// identity (every group, every claim), so the cache is bounded by the bytes its entries hold, not by their number.
import { BoundedCache } from '@vallum/session';
import type { Decision } from '@vallum/policy';
import type { AuthorizeApi, AuthorizeRequest } from '@vallum/service-client';

export interface CachingOptions {
  /** policyVersion(config) of the config this proxy runs; decisions of any other version are not cached. */
  policyVersion: string;
  /** Bound on the estimated bytes of all cached decisions (keys included); default 32 MiB. */
  maxBytes?: number;
  now?: () => number;
}

const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
/** A Map entry, the expiry record and the decision object, besides the key and the decision's serialised length. */
const ENTRY_OVERHEAD_BYTES = 200;

/** Estimated bytes a cached decision holds: the key (UTF-16) and the decision's serialised length. */
export function decisionEntryBytes(key: string, decision: Decision): number {
  return ENTRY_OVERHEAD_BYTES + key.length * 2 + JSON.stringify(decision).length;
}

export function decisionCacheKey(input: AuthorizeRequest): string {
  const { routeId, identity, request } = input;
  return JSON.stringify([routeId, request.method, request.host, request.path, request.sourceIp ?? '', request.clientCertificate?.fingerprint ?? '', identity]);
}

export function createCachingAuthorizeClient(inner: AuthorizeApi, options: CachingOptions): AuthorizeApi & { readonly size: number; readonly bytes: number } {
  const now = options.now ?? Date.now;
  const cache = new BoundedCache<string, Decision>({ maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES, sizeOf: decisionEntryBytes, now });
  return {
    peek: (input) => cache.get(decisionCacheKey(input)),
    readsHeaders: (routeId) => inner.readsHeaders?.(routeId) ?? true,
    async evaluate(input) {
      const key = decisionCacheKey(input);
      const hit = cache.get(key);
      if (hit) return hit;
      const decision = await inner.evaluate(input);
      if (decision.cacheableUntil !== undefined && decision.policyVersion === options.policyVersion) cache.set(key, decision, decision.cacheableUntil - now());
      return decision;
    },
    get size() {
      return cache.size;
    },
    get bytes() {
      return cache.bytes;
    },
  };
}
