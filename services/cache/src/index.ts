export { buildApp, type CacheDeps } from './app.js';
export { createMemoryStore, DEFAULT_MEMORY_MAX_SESSIONS, type MemoryStoreOptions, type MemoryStoreStats } from './memory-store.js';
export { createRedisStore, type RedisStore, type RedisStoreOptions } from './redis-store.js';
export { createSessionStore, type SessionStore } from './create-store.js';
export { startTokenRefresher, type TokenRefresher, type RefreshLog } from './token-refresher.js';
