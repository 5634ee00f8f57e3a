import { secretList, type VallumConfig } from '@vallum/config';
import type { VallumMetrics } from '@vallum/telemetry';
import { countStoreErrors } from './counted-store.js';
import { createMemoryStore, type MemoryStoreOptions, type SessionStore } from './memory-store.js';
import { createRedisStore } from './redis-store.js';

export type { SessionStore } from './memory-store.js';

/** Redis when `cache.redis_url` is set, memory otherwise: same interface, same contract tests. */
export function createSessionStore(
  config: Pick<VallumConfig, 'redis' | 'memoryMaxSessions' | 'tokenEncryptionSecret'> & Partial<Pick<VallumConfig, 'previousTokenEncryptionSecrets'>>,
  options: Pick<MemoryStoreOptions, 'log'> & { metrics?: VallumMetrics | undefined } = {},
): SessionStore {
  const { metrics, ...memoryOptions } = options;
  const store = config.redis
    ? createRedisStore(config.redis, { tokenSecret: secretList(config.tokenEncryptionSecret, config.previousTokenEncryptionSecrets) })
    : createMemoryStore({
        ...memoryOptions,
        ...(config.memoryMaxSessions === undefined ? {} : { maxSessions: config.memoryMaxSessions }),
        ...(metrics ? { onEvict: (count: number) => metrics.storeEvictions.inc(count) } : {}),
      });
  return metrics ? countStoreErrors(store, metrics) : store;
}
