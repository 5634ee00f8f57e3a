// A token bucket per key (client address, user): `requests` may come at once, then one more each `perMs / requests`.
// Memory is bounded: past `maxKeys`, the least recently used key is forgotten (its next request starts full).
import { parseIp } from '@vallum/policy';

export interface RateLimiterOptions {
  requests: number;
  perMs: number;
  /** Keys remembered at most (default 10000). */
  maxKeys?: number;
  /** Milliseconds; tests pass a fake clock. */
  now?: () => number;
}

export interface RateLimiterStats {
  allowed: number;
  limited: number;
  /** Keys remembered now. */
  keys: number;
  /** Keys forgotten to stay within maxKeys. */
  evicted: number;
}

export interface RateLimiter {
  /** Takes one request from the key's budget: 0 when allowed, else the seconds until one is (Retry-After, ≥ 1). */
  take(key: string): number;
  stats(): RateLimiterStats;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { requests, perMs } = options;
  const maxKeys = options.maxKeys ?? 10_000;
  const now = options.now ?? Date.now;
  const perToken = perMs / requests;
  const buckets = new Map<string, Bucket>();
  const counts = { allowed: 0, limited: 0, evicted: 0 };
  return {
    take(key) {
      const t = now();
      let bucket = buckets.get(key);
      if (bucket) {
        // Re-inserted so the Map's order is least recently used first.
        buckets.delete(key);
        bucket.tokens = Math.min(requests, bucket.tokens + (t - bucket.at) / perToken);
        bucket.at = t;
      } else {
        if (buckets.size >= maxKeys) {
          buckets.delete(buckets.keys().next().value!);
          counts.evicted++;
        }
        bucket = { tokens: requests, at: t };
      }
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        counts.allowed++;
        return 0;
      }
      counts.limited++;
      return Math.max(1, Math.ceil(Math.round((1 - bucket.tokens) * perToken) / 1000));
    },
    stats: () => ({ ...counts, keys: buckets.size }),
  };
}

/**
 * The rate-limit key of a client address: an IPv4 address (also when mapped into IPv6) as is, an IPv6 address by its
 * /64, since one client usually holds a whole /64 and could otherwise take a fresh budget per address.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return '';
  const ip = parseIp(address);
  if (!ip) return address;
  if (ip.family === 4) return [ip.value >>> 24, (ip.value >>> 16) & 255, (ip.value >>> 8) & 255, ip.value & 255].join('.');
  return `${[...ip.value.subarray(0, 4)].map((g) => g.toString(16)).join(':')}::/64`;
}
