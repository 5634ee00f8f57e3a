// Sessions in Redis. Commands fail fast while Redis is unreachable (no offline queue) so callers answer 503 at
// once instead of hanging; ioredis keeps reconnecting in the background and the store recovers by itself.
import { Redis } from 'ioredis';
import { VallumError, ErrorCodes } from '@vallum/errors';
import type { SessionStore } from './memory-store.js';
import { matchesQuery } from './session-query.js';
import { createTokenCipher, type StoredSession } from './token-cipher.js';
import type { ApiTokenRecord, Secrets, Session } from '@vallum/session';
import { apiTokenEvent } from '@vallum/service-client';

const SESSION_PREFIX = 'vallum:session:';
const IDLE_PREFIX = 'vallum:idle:';
const USER_PREFIX = 'vallum:user:';
const ONCE_PREFIX = 'vallum:once:';
const ENDED_PREFIX = 'vallum:ended:';
const API_TOKEN_PREFIX = 'vallum:api-token:';
const DENIED_PREFIX = 'vallum:api-token-revoked:';
const CHANNEL = 'vallum:session-changed';
const READY_WAIT_MS = 1000;
const SCAN_LIMIT = 1_000_000;

export type RedisStore = SessionStore;

export interface RedisStoreOptions {
  /** The secret IdP tokens are sealed with in Redis (`token_encryption_key`, else `shared_secret`), then previous ones. */
  tokenSecret: Secrets;
}

export function createRedisStore(url: string, options: RedisStoreOptions): RedisStore {
  let tokens = createTokenCipher(options.tokenSecret);
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

  // Pub/sub needs a connection of its own; it is opened on the first subscribe and queues until connected.
  let subscriber: Redis | undefined;
  const listeners = new Set<(sid: string) => void>();
  const notify = (sid: string) => redis.publish(CHANNEL, sid);

  // A record that does not parse or whose tokens do not open (another key) is a signed-out session, never a crash.
  const parse = (raw: string | null, idle: string | null | undefined): Session | null => {
    if (!raw) return null;
    let stored: StoredSession;
    try {
      stored = JSON.parse(raw) as StoredSession;
    } catch {
      return null;
    }
    if (typeof stored !== 'object' || stored === null || !(stored.expiresAt > Date.now())) return null;
    if (stored.idleTimeoutMs !== undefined && !idle) return null;
    return tokens.open(stored);
  };
  const serialize = (session: Session) => JSON.stringify(tokens.seal(session));
  const read = async (ids: string[]): Promise<Session[]> => {
    if (ids.length === 0) return [];
    const values = await run(() => redis.mget(...ids.flatMap((id) => [SESSION_PREFIX + id, IDLE_PREFIX + id])));
    return ids.flatMap((_, i) => parse(values[2 * i] ?? null, values[2 * i + 1]) ?? []);
  };

  const getSession = async (id: string) => (await read([id]))[0] ?? null;

  const store: RedisStore = {
    getSession,
    async putSession(session) {
      const ttl = session.expiresAt - Date.now();
      if (ttl <= 0) return;
      const multi = redis.multi().set(SESSION_PREFIX + session.id, serialize(session), 'PX', ttl);
      if (session.idleTimeoutMs !== undefined) multi.set(IDLE_PREFIX + session.id, '1', 'PX', Math.min(ttl, session.idleTimeoutMs));
      multi
        .sadd(USER_PREFIX + session.sub, session.id)
        .pexpire(USER_PREFIX + session.sub, ttl, 'GT')
        .pexpire(USER_PREFIX + session.sub, ttl, 'NX');
      await run(() => multi.exec());
      await run(() => notify(session.id));
    },
    async updateSession(session) {
      const ttl = session.expiresAt - Date.now();
      if (ttl <= 0) return false;
      const res = await run(() => redis.set(SESSION_PREFIX + session.id, serialize(session), 'PX', ttl, 'XX'));
      if (res !== 'OK') return false;
      await run(() => notify(session.id));
      return true;
    },
    async touchSession(id) {
      const session = await getSession(id);
      if (!session) return false;
      if (session.idleTimeoutMs === undefined) return true;
      const ttl = Math.min(session.expiresAt - Date.now(), session.idleTimeoutMs);
      return (await run(() => redis.pexpire(IDLE_PREFIX + id, ttl))) === 1;
    },
    async deleteSession(id) {
      await run(() => redis.del(SESSION_PREFIX + id, IDLE_PREFIX + id));
      await run(() => notify(id));
    },
    async endSession(id, keepSeconds) {
      const session = await getSession(id);
      const multi = redis.multi().del(SESSION_PREFIX + id, IDLE_PREFIX + id);
      // Only the ID token is kept, sealed like every IdP token at rest.
      if (session?.idToken !== undefined) {
        const { accessToken: _a, refreshToken: _r, ...kept } = session;
        multi.set(ENDED_PREFIX + id, serialize(kept), 'EX', Math.max(1, Math.ceil(keepSeconds)));
      }
      await run(() => multi.exec());
      await run(() => notify(id));
    },
    async takeEndedIdToken(id) {
      const raw = await run(() => redis.getdel(ENDED_PREFIX + id));
      if (raw === null) return null;
      try {
        return tokens.open(JSON.parse(raw) as StoredSession)?.idToken ?? null;
      } catch {
        return null;
      }
    },
    async findSessions(query) {
      // Sessions are indexed by user; an IdP session alone (a rare back-channel logout) is found by a bounded scan.
      if (query.sub === undefined) return (await store.listSessions()).filter((s) => matchesQuery(s, query));
      const ids = await run(() => redis.smembers(USER_PREFIX + query.sub));
      const found = await read(ids);
      const gone = ids.filter((id) => !found.some((s) => s.id === id));
      if (gone.length) await run(() => redis.srem(USER_PREFIX + query.sub, ...gone));
      return found.filter((s) => matchesQuery(s, query));
    },
    async listSessions() {
      const ids: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await run(() => redis.scan(cursor, 'MATCH', `${SESSION_PREFIX}*`, 'COUNT', 1000));
        cursor = next;
        for (const key of keys) ids.push(key.slice(SESSION_PREFIX.length));
      } while (cursor !== '0' && ids.length < SCAN_LIMIT);
      return read(ids);
    },
    subscribe(listener) {
      if (!subscriber) {
        // ioredis's own resubscribe after a reconnection leaves its promise unhandled; a connection that drops again
        // before the reply would raise an unhandled rejection, so every (re)subscribe is made here, on 'ready'.
        const connection = redis.duplicate({
          enableOfflineQueue: true,
          maxRetriesPerRequest: null,
          commandTimeout: undefined,
          autoResubscribe: false,
        });
        connection.on('error', () => {});
        connection.on('ready', () => void connection.subscribe(CHANNEL).catch(() => {}));
        connection.on('message', (_channel: string, sid: string) => {
          for (const l of listeners) l(sid);
        });
        subscriber = connection;
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async claimOnce(key, ttlSeconds) {
      const res = await run(() => redis.set(ONCE_PREFIX + key, '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX'));
      return res === 'OK';
    },
    async recordApiToken(record) {
      const ttl = record.expiresAt - Date.now();
      if (ttl <= 0) return;
      await run(() => redis.set(API_TOKEN_PREFIX + record.jti, JSON.stringify(record), 'PX', ttl));
    },
    async listApiTokens() {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await run(() => redis.scan(cursor, 'MATCH', `${API_TOKEN_PREFIX}*`, 'COUNT', 1000));
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0' && keys.length < SCAN_LIMIT);
      if (keys.length === 0) return [];
      const values = await run(() => redis.mget(...keys));
      return values.flatMap((raw) => (raw ? [JSON.parse(raw) as ApiTokenRecord] : [])).filter((r) => r.expiresAt > Date.now());
    },
    async revokeApiToken(jti, until) {
      const ttl = Math.max(1, until - Date.now());
      await run(() => redis.set(DENIED_PREFIX + jti, '1', 'PX', ttl));
      const raw = await run(() => redis.get(API_TOKEN_PREFIX + jti));
      if (raw) {
        const record = JSON.parse(raw) as ApiTokenRecord;
        if (record.revokedAt === undefined) {
          record.revokedAt = Date.now();
          await run(() => redis.set(API_TOKEN_PREFIX + jti, JSON.stringify(record), 'KEEPTTL', 'XX'));
        }
      }
      await run(() => notify(apiTokenEvent(jti)));
    },
    async isApiTokenRevoked(jti) {
      return (await run(() => redis.exists(DENIED_PREFIX + jti))) === 1;
    },
    useTokenSecrets(secrets) {
      tokens = createTokenCipher(secrets);
    },
    async close() {
      listeners.clear();
      await Promise.all([subscriber, redis].map((connection) => connection && closeConnection(connection)));
    },
  };
  return store;
}

/**
 * QUIT when connected, so commands still in flight (a resubscribe after a reconnection) are answered rather than
 * rejected with "Connection is closed" after their caller is gone; a connection that is down, or a QUIT that takes
 * more than a second, is dropped.
 */
async function closeConnection(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') return connection.disconnect();
  const quit = connection.quit().then(
    () => {},
    () => {},
  );
  const timer = new Promise<'late'>((resolve) => setTimeout(resolve, 1000, 'late').unref());
  if ((await Promise.race([quit, timer])) === 'late') connection.disconnect();
}
