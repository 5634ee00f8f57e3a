// Rate limits of one process among `workers` that serve the same listener: each keeps its own token buckets, so each
// gets an even share of every budget, and a client whose connections spread over the workers gets the configured one.
import type { VallumConfig } from './build-config.js';
import type { RateLimitConfig } from './build-limits.js';

export function shareRateLimits(config: VallumConfig, workers: number): VallumConfig {
  if (workers <= 1) return config;
  const share = <T extends RateLimitConfig | undefined>(rate: T): T => (rate && { ...rate, requests: Math.max(1, Math.ceil(rate.requests / workers)) }) as T;
  return Object.freeze({
    ...config,
    routes: Object.freeze(config.routes.map((route) => (route.rateLimit ? Object.freeze({ ...route, rateLimit: share(route.rateLimit) }) : route))),
    limits: Object.freeze({ ...config.limits, signIn: share(config.limits.signIn), backchannelLogout: share(config.limits.backchannelLogout) }),
  });
}
