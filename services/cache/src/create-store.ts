import type { VallumConfig } from '@vallum/config';
import { createMemoryStore, type SessionStore } from './memory-store.js';
import { createRedisStore } from './redis-store.js';

export type { SessionStore } from './memory-store.js';

/** Redis when `cache.redis_url` is set, memory otherwise: same interface, same contract tests. */
export function createSessionStore(config: Pick<VallumConfig, 'redisUrl' | 'tokenEncryptionSecret'>): SessionStore {
  return config.redisUrl ? createRedisStore(config.redisUrl, { tokenSecret: config.tokenEncryptionSecret }) : createMemoryStore();
}
