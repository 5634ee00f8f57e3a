import { sessionView } from '@vallum/session';
import type { CacheApi, CacheViewApi } from './apis.js';

/** The cache without IdP tokens: what the proxy is given, whether the cache is in this process or across HTTP. */
export function cacheView(cache: CacheApi): CacheViewApi {
  return {
    async getSession(id) {
      const session = await cache.getSession(id);
      return session && sessionView(session);
    },
    async findSessions(query) {
      return (await cache.findSessions(query)).map(sessionView);
    },
    deleteSession: (id) => cache.deleteSession(id),
    endSession: (id, keepSeconds) => cache.endSession(id, keepSeconds),
    claimOnce: (key, ttlSeconds) => cache.claimOnce(key, ttlSeconds),
    putOneTimeValue: (key, value, ttlSeconds) => cache.putOneTimeValue(key, value, ttlSeconds),
    takeOneTimeValue: (key) => cache.takeOneTimeValue(key),
    touchSession: (id) => cache.touchSession(id),
    subscribe: (listener) => cache.subscribe(listener),
    recordApiToken: (record) => cache.recordApiToken(record),
    listApiTokens: () => cache.listApiTokens(),
    revokeApiToken: (jti, until) => cache.revokeApiToken(jti, until),
    isApiTokenRevoked: (jti) => cache.isApiTokenRevoked(jti),
  };
}
