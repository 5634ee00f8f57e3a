export { buildApp, type CacheDeps } from './app.js';
export { createMemoryStore } from './memory-store.js';
export { createRedisStore, type RedisStore, type RedisStoreOptions } from './redis-store.js';
export { createSessionStore, type SessionStore } from './create-store.js';
export { startTokenRefresher, type TokenRefresher, type RefreshLog } from './token-refresher.js';
