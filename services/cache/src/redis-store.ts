// Sessions in Redis. Commands fail fast while Redis is unreachable (no offline queue) so callers answer 503 at
// once instead of hanging; ioredis keeps reconnecting in the background and the store recovers by itself.
import { Redis } from 'ioredis';
import { VallumError, ErrorCodes } from '@vallum/errors';
import type { CacheApi } from '@vallum/service-client';
import type { Session } from '@vallum/session';

const SESSION_PREFIX = 'vallum:session:';
const ONCE_PREFIX = 'vallum:once:';
const READY_WAIT_MS = 1000;

export interface RedisStore extends CacheApi {
  close(): Promise<void>;
}

export function createRedisStore(url: string): RedisStore {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  // Without a listener ioredis reports connection errors as unhandled; the state is visible through 503s instead.
  redis.on('error', () => {});

  // A store that is still connecting (at start, or just after Redis came back) waits briefly instead of failing.
  const ready = async (): Promise<void> => {
    if (redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, READY_WAIT_MS);
      redis.once('ready', done);
    });
  };

  const run = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      await ready();
      return await op();
    } catch (cause) {
      throw new VallumError(ErrorCodes.CACHE_UNAVAILABLE, 'session store unavailable', { status: 503, cause });
    }
  };

  return {
    async getSession(id) {
      const raw = await run(() => redis.get(SESSION_PREFIX + id));
      if (!raw) return null;
      const session = JSON.parse(raw) as Session;
      return session.expiresAt > Date.now() ? session : null;
    },
    async putSession(session) {
      const ttl = session.expiresAt - Date.now();
      if (ttl <= 0) return;
      await run(() => redis.set(SESSION_PREFIX + session.id, JSON.stringify(session), 'PX', ttl));
    },
    async deleteSession(id) {
      await run(() => redis.del(SESSION_PREFIX + id));
    },
    async claimOnce(key, ttlSeconds) {
      const res = await run(() => redis.set(ONCE_PREFIX + key, '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX'));
      return res === 'OK';
    },
    async close() {
      redis.disconnect();
    },
  };
}
