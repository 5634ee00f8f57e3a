// Picks one upstream of a route per request: weighted round robin (smooth, as nginx), least request, weighted
// random, or a consistent-hash ring keyed by a header or cookie (sticky sessions). Endpoints that fail passive
// (consecutive connect errors / 5xx) or active health checks get no traffic until they recover: an ejected endpoint
// is probed 250 ms later, then at doubling intervals up to `ejectionMs`, and re-admitted by the first probe (or
// request) it answers. When no endpoint is available they are all tried anyway (Envoy's panic mode), so an app
// that is back is served by the next request rather than after a probe.
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
  /** Passive health: ejected after `consecutiveErrors` failures, until a probe or a request gets an answer. */
  ejected: boolean;
  currentWeight: number;
}

/** Whether an endpoint answers (health-check.ts); never rejects. */
export type EndpointProbe = (endpoint: Endpoint) => Promise<boolean>;

export interface OutlierOptions {
  consecutiveErrors: number;
  /** The longest wait between two probes of an ejected endpoint. */
  ejectionMs: number;
}

/** The wait before the first probe of an ejected endpoint; it doubles after every probe that gets no answer. */
export const FIRST_PROBE_DELAY_MS = 250;

export interface Balancer {
  readonly endpoints: readonly Endpoint[];
  /** An available endpoint other than `exclude`, or undefined when none is healthy. */
  pick(hashKey: string | undefined, exclude?: Endpoint): Endpoint | undefined;
  /** Passive health: a connect error or 5xx (`ok` false), or a good answer. */
  report(endpoint: Endpoint, ok: boolean): void;
  /** Stops probing ejected endpoints. */
  close(): void;
}

const VIRTUAL_NODES = 100;
/**
 * The most points a ring holds (Envoy caps it too): large weights are scaled down proportionally, so two upstreams
 * of weight 1000 build 8,192 points (tens of ms) instead of 200,000 SHA-1s (over a second, event loop blocked).
 */
export const MAX_RING_POINTS = 8192;

export function createBalancer(urls: readonly URL[], weights: readonly number[], policy: LbPolicy, outlier: OutlierOptions, probe: EndpointProbe): Balancer {
  const endpoints: Endpoint[] = urls.map((url, i) => ({
    url,
    basePath: basePathOf(url),
    host: url.host,
    weight: weights[i] ?? 1,
    inFlight: 0,
    healthy: true,
    consecutiveFailures: 0,
    ejected: false,
    currentWeight: 0,
  }));
  const ejections = createEjections(outlier.ejectionMs, probe);
  let inPanic = false;
  const available = (e: Endpoint, exclude: Endpoint | undefined) => e !== exclude && (inPanic || (e.healthy && !e.ejected));
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

  const choose = (hashKey: string | undefined, exclude: Endpoint | undefined) => {
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
  };

  return {
    endpoints,
    pick(hashKey, exclude) {
      if (endpoints.length === 1) return endpoints[0] === exclude ? undefined : endpoints[0];
      const picked = choose(hashKey, exclude);
      if (picked) return picked;
      inPanic = true;
      try {
        return choose(hashKey, exclude);
      } finally {
        inPanic = false;
      }
    },
    report(endpoint, ok) {
      if (ok) {
        endpoint.consecutiveFailures = 0;
        if (endpoint.ejected) ejections.readmit(endpoint);
        ejections.answered(endpoint);
        return;
      }
      // A request that fails on an ejected endpoint (panic mode) says nothing the probes do not.
      if (endpoint.ejected) return;
      if (++endpoint.consecutiveFailures >= outlier.consecutiveErrors) {
        endpoint.consecutiveFailures = 0;
        ejections.eject(endpoint);
      }
    },
    close: () => ejections.close(),
  };
}

/**
 * The probes of ejected endpoints, one timer each (unref'd). The wait before a probe starts at FIRST_PROBE_DELAY_MS
 * and doubles up to `maxDelayMs` while probes go unanswered; an endpoint ejected again before it served a good
 * answer keeps its longer wait, so one that accepts connections but fails requests is not re-admitted every 250 ms.
 */
function createEjections(maxDelayMs: number, probe: EndpointProbe) {
  const timers = new Map<Endpoint, NodeJS.Timeout>();
  const delays = new Map<Endpoint, number>();
  let closed = false;
  const schedule = (endpoint: Endpoint) => {
    const delay = Math.min(delays.get(endpoint) ?? FIRST_PROBE_DELAY_MS, maxDelayMs);
    delays.set(endpoint, Math.min(delay * 2, maxDelayMs));
    const timer: NodeJS.Timeout = setTimeout(() => void run(endpoint, timer), delay);
    timer.unref();
    timers.set(endpoint, timer);
  };
  const run = async (endpoint: Endpoint, timer: NodeJS.Timeout) => {
    const ok = await probe(endpoint);
    // Re-admitted by a request while the probe was out (and maybe ejected again, with a probe of its own).
    if (closed || timers.get(endpoint) !== timer) return;
    if (ok) readmit(endpoint);
    else schedule(endpoint);
  };
  const readmit = (endpoint: Endpoint) => {
    endpoint.ejected = false;
    clearTimeout(timers.get(endpoint));
    timers.delete(endpoint);
  };
  return {
    eject(endpoint: Endpoint) {
      if (closed) return;
      endpoint.ejected = true;
      schedule(endpoint);
    },
    readmit,
    /** A good answer from a request: the next ejection starts with a short wait again. */
    answered(endpoint: Endpoint) {
      if (delays.size > 0) delays.delete(endpoint);
    },
    close() {
      closed = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}

function hash32(value: string): number {
  return createHash('sha1').update(value).digest().readUInt32BE(0);
}

/** Each endpoint's points on the ring: `VIRTUAL_NODES` per unit of weight, scaled down to fit `MAX_RING_POINTS`. */
export function ringPointCounts(weights: readonly number[]): number[] {
  const total = weights.reduce((sum, w) => sum + w, 0);
  const perWeight = Math.min(VIRTUAL_NODES, MAX_RING_POINTS / total);
  return weights.map((w) => Math.max(1, Math.floor(w * perWeight)));
}

function buildRing(endpoints: Endpoint[]): Array<{ hash: number; endpoint: Endpoint }> {
  const ring: Array<{ hash: number; endpoint: Endpoint }> = [];
  const counts = ringPointCounts(endpoints.map((e) => e.weight));
  endpoints.forEach((endpoint, e) => {
    for (let i = 0; i < counts[e]!; i++) ring.push({ hash: hash32(`${endpoint.url.href}#${i}`), endpoint });
  });
  return ring.sort((a, b) => a.hash - b.hash);
}
