// Picks one upstream of a route per request: weighted round robin (smooth, as nginx), least request, weighted
// random, or a consistent-hash ring keyed by a header or cookie (sticky sessions). Endpoints that fail passive
// (consecutive connect errors / 5xx) or active health checks get no traffic until they recover.
import { createHash } from 'node:crypto';
import type { LbPolicy } from '@vallum/config';
import { basePathOf } from './upstream-path.js';

export interface Endpoint {
  url: URL;
  /** The URL's path without its trailing slash, put before every request path. */
  basePath: string;
  /** The URL's host[:port], the Host header unless the route says otherwise. */
  host: string;
  weight: number;
  inFlight: number;
  /** Active health state (true until a health check says otherwise). */
  healthy: boolean;
  consecutiveFailures: number;
  ejectedUntil: number;
  currentWeight: number;
}

export interface Balancer {
  readonly endpoints: readonly Endpoint[];
  /** An available endpoint other than `exclude`, or undefined when none is healthy. */
  pick(hashKey: string | undefined, exclude?: Endpoint): Endpoint | undefined;
  /** Whether the endpoint takes traffic now: healthy by the active checks and not ejected. */
  available(endpoint: Endpoint): boolean;
  /** Passive health: a connect error or 5xx (`ok` false), or a good answer. */
  report(endpoint: Endpoint, ok: boolean): void;
}

const VIRTUAL_NODES = 100;

export function createBalancer(
  urls: readonly URL[],
  weights: readonly number[],
  policy: LbPolicy,
  outlier: { consecutiveErrors: number; ejectionMs: number },
  now: () => number = Date.now,
): Balancer {
  const endpoints: Endpoint[] = urls.map((url, i) => ({
    url,
    basePath: basePathOf(url),
    host: url.host,
    weight: weights[i] ?? 1,
    inFlight: 0,
    healthy: true,
    consecutiveFailures: 0,
    ejectedUntil: 0,
    currentWeight: 0,
  }));
  const available = (e: Endpoint, exclude: Endpoint | undefined) => e !== exclude && e.healthy && e.ejectedUntil <= now();
  const ring = policy === 'ring_hash' ? buildRing(endpoints) : [];

  const roundRobin = (exclude: Endpoint | undefined) => {
    let total = 0;
    let best: Endpoint | undefined;
    for (const e of endpoints) {
      if (!available(e, exclude)) continue;
      e.currentWeight += e.weight;
      total += e.weight;
      if (!best || e.currentWeight > best.currentWeight) best = e;
    }
    if (best) best.currentWeight -= total;
    return best;
  };
  const leastRequest = (exclude: Endpoint | undefined) => {
    let best: Endpoint | undefined;
    for (const e of endpoints) {
      if (available(e, exclude) && (!best || e.inFlight / e.weight < best.inFlight / best.weight)) best = e;
    }
    return best;
  };
  const random = (exclude: Endpoint | undefined) => {
    const candidates = endpoints.filter((e) => available(e, exclude));
    let r = Math.random() * candidates.reduce((s, e) => s + e.weight, 0);
    for (const e of candidates) if ((r -= e.weight) < 0) return e;
    return candidates.at(-1);
  };
  const ringHash = (key: string | undefined, exclude: Endpoint | undefined) => {
    if (key === undefined) return random(exclude);
    const h = hash32(key);
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid]!.hash < h) lo = mid + 1;
      else hi = mid;
    }
    for (let i = 0; i < ring.length; i++) {
      const e = ring[(lo + i) % ring.length]!.endpoint;
      if (available(e, exclude)) return e;
    }
    return undefined;
  };

  return {
    endpoints,
    available: (e) => available(e, undefined),
    pick(hashKey, exclude) {
      if (endpoints.length === 1) return available(endpoints[0]!, exclude) ? endpoints[0] : undefined;
      switch (policy) {
        case 'least_request':
          return leastRequest(exclude);
        case 'random':
          return random(exclude);
        case 'ring_hash':
          return ringHash(hashKey, exclude);
        default:
          return roundRobin(exclude);
      }
    },
    report(endpoint, ok) {
      if (ok) {
        endpoint.consecutiveFailures = 0;
        return;
      }
      if (++endpoint.consecutiveFailures >= outlier.consecutiveErrors) {
        endpoint.consecutiveFailures = 0;
        endpoint.ejectedUntil = now() + outlier.ejectionMs;
      }
    },
  };
}

function hash32(value: string): number {
  return createHash('sha1').update(value).digest().readUInt32BE(0);
}

function buildRing(endpoints: Endpoint[]): Array<{ hash: number; endpoint: Endpoint }> {
  const ring: Array<{ hash: number; endpoint: Endpoint }> = [];
  for (const endpoint of endpoints) {
    for (let i = 0; i < VIRTUAL_NODES * endpoint.weight; i++) ring.push({ hash: hash32(`${endpoint.url.href}#${i}`), endpoint });
  }
  return ring.sort((a, b) => a.hash - b.hash);
}
