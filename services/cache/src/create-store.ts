import { secretList, type VallumConfig } from '@vallum/config';
import { createMemoryStore, type MemoryStoreOptions, type SessionStore } from './memory-store.js';
import { createRedisStore } from './redis-store.js';

export type { SessionStore } from './memory-store.js';

/** Redis when `cache.redis_url` is set, memory otherwise: same interface, same contract tests. */
export function createSessionStore(
  config: Pick<VallumConfig, 'redis' | 'memoryMaxSessions' | 'tokenEncryptionSecret'> & Partial<Pick<VallumConfig, 'previousTokenEncryptionSecrets'>>,
  options: Pick<MemoryStoreOptions, 'log'> = {},
): SessionStore {
  if (config.redis) return createRedisStore(config.redis, { tokenSecret: secretList(config.tokenEncryptionSecret, config.previousTokenEncryptionSecrets) });
  return createMemoryStore({ ...options, ...(config.memoryMaxSessions === undefined ? {} : { maxSessions: config.memoryMaxSessions }) });
}
