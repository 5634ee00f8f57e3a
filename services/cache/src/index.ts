export { buildApp, type CacheDeps } from './app.js';
export { createMemoryStore, DEFAULT_MEMORY_MAX_SESSIONS, type MemoryStoreOptions, type MemoryStoreStats } from './memory-store.js';
export { createRedisStore, type RedisStore, type RedisStoreOptions } from './redis-store.js';
export { createSessionStore, type SessionStore } from './create-store.js';
export { startTokenRefresher, type TokenRefresher, type RefreshLog, type IdpChecks, type TokenRefresherOptions } from './token-refresher.js';
export type { Lease } from './redis-lease.js';
