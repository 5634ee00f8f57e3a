// Sessions in Redis: one Redis, Sentinel or Cluster (redis-client.ts). A session's keys share a hash tag, so its
// transactions stay in one Cluster slot; session writes wait for a replica (WAIT) where a failover can promote one,
// so a session written before its master dies is still there after.
import { parseRedisUrl, type RedisTarget } from '@vallum/config';
import { VallumError, ErrorCodes } from '@vallum/errors';
import type { SessionStore } from './memory-store.js';
import { createRedisLease } from './redis-lease.js';
import { matchesQuery } from './session-query.js';
import { createTokenCipher, type StoredSession } from './token-cipher.js';
import type { ApiTokenRecord, Secrets, Session } from '@vallum/session';
import { apiTokenEvent } from '@vallum/service-client';
import {
  closeConnection,
  createRedisClient,
  masterOf,
  refreshClusterSlots,
  replicasToWaitFor,
  scanKeys,
  subscribeChannel,
  type Subscription,
} from './redis-client.js';

// `{id}` is the hash tag: a session's record, idle deadline and ended ID token live in one slot.
export const sessionKey = (id: string) => `vallum:{${id}}:session`;
const idleKey = (id: string) => `vallum:{${id}}:idle`;
const endedKey = (id: string) => `vallum:{${id}}:ended`;
const SESSION_MATCH = 'vallum:{*}:session';
const sessionIdOf = (key: string) => key.slice('vallum:{'.length, -'}:session'.length);
// One key each, so any slot will do; the names predate Cluster support and are kept (a revoked token stays revoked).
export const USER_PREFIX = 'vallum:user:';
const ONCE_PREFIX = 'vallum:once:';
const VALUE_PREFIX = 'vallum:value:';
const API_TOKEN_PREFIX = 'vallum:api-token:';
const DENIED_PREFIX = 'vallum:api-token-revoked:';
const CHANNEL = 'vallum:session-changed';
/**
 * The token refresher's schedule: a sorted set of session ids by next check time (ms). One key, so on a Cluster it
 * sits in a slot of its own and is written beside a session's transaction, not inside it; an entry whose session
 * expired or was removed is dropped when the refresher reads it.
 */
export const DUE_KEY = 'vallum:refresh-due';
/** Set once every session written before the schedule existed is on it (see indexSessions). */
export const DUE_INDEXED_KEY = 'vallum:refresh-due:indexed';
const LEASE_KEY = 'vallum:refresher-lease';
const READY_WAIT_MS = 1000;
const SCAN_LIMIT = 1_000_000;
/** Longest a write waits for a replica. */
const WAIT_TIMEOUT_MS = 250;
/**
 * After a WAIT ran out (a master left without replicas, as after a failover until a new replica syncs), writes to
 * that master skip waiting this long: one slow write per interval, not every write.
 */
const ALONE_RETRY_MS = 5000;
/** Keys read per batch of concurrent commands. */
const READ_BATCH = 500;

type Command = [string, ...Array<string | number>];

export type RedisStore = SessionStore;

export interface RedisStoreOptions {
  /** The secret IdP tokens are sealed with in Redis (`token_encryption_key`, else `shared_secret`), then previous ones. */
  tokenSecret: Secrets;
  /** Replicas each write waits for (WAIT); default 1 on Sentinel and Cluster, 0 on one Redis. For measuring its cost. */
  waitForReplicas?: number;
}

/** `url` is `cache.redis_url` as written, or as parsed by the config. */
export function createRedisStore(url: string | RedisTarget, options: RedisStoreOptions): RedisStore {
  const target = typeof url === 'string' ? targetOf(url) : url;
  let tokens = createTokenCipher(options.tokenSecret);
  const redis = createRedisClient(target);
  const waitFor = options.waitForReplicas ?? replicasToWaitFor(target);

  // A store that is still connecting (at start, or just after Redis came back) waits briefly instead of failing;
  // concurrent callers share one wait.
  let connecting: Promise<void> | undefined;
  const ready = (): Promise<void> | undefined => {
    if (redis.status === 'ready') return;
    connecting ??= new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('ready', done);
        connecting = undefined;
        resolve();
      };
      const timer = setTimeout(done, READY_WAIT_MS);
      redis.once('ready', done);
    });
    return connecting;
  };

  const run = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      await ready();
      return await op();
    } catch (cause) {
      throw new VallumError(ErrorCodes.CACHE_UNAVAILABLE, 'session store unavailable', { status: 503, cause });
    }
  };

  /** Masters whose last WAIT ran out, and until when writes to them do not wait. */
  const alone = new Map<string, number>();
  /**
   * The commands (keys of one slot; `atomic` wraps them in MULTI/EXEC), then WAIT for a replica, in one round trip
   * to the slot's master. Resolves to the commands' replies. A replica that does not answer in time does not fail
   * the write: the master has it. Answered MOVED (the slot has a new master), nothing was written: the slot map is
   * read again and the commands sent once more.
   */
  const replicated = (commands: Command[], atomic = false) =>
    run(async () => {
      const key = String(commands[0]?.[1]);
      const wait = waitFor > 0 && (alone.get(masterOf(redis, key)) ?? 0) <= Date.now();
      const queue: Command[] = atomic ? [['multi'], ...commands, ['exec']] : [...commands];
      if (wait) queue.push(['wait', waitFor, WAIT_TIMEOUT_MS]);
      let results = (await redis.pipeline(queue).exec()) ?? [];
      if (results.some(([err]) => err?.message.startsWith('MOVED '))) {
        await refreshClusterSlots(redis);
        results = (await redis.pipeline(queue).exec()) ?? [];
      }
      for (const [err] of results) if (err) throw err;
      const replies = results.map(([, reply]) => reply);
      if (wait && (replies.at(-1) as number) < waitFor) alone.set(masterOf(redis, key), Date.now() + ALONE_RETRY_MS);
      else if (wait) alone.delete(masterOf(redis, key));
      const answers = atomic ? (replies[commands.length + 1] as unknown[]) : replies.slice(0, commands.length);
      for (const answer of answers) if (answer instanceof Error) throw answer;
      return answers;
    });

  // Pub/sub needs a connection of its own; it is opened on the first subscribe.
  let subscription: Subscription | undefined;
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
  // One MGET per session (its keys share a slot; a Cluster spreads sessions over every slot), a batch at a time.
  const read = async (ids: string[]): Promise<Session[]> => {
    const found: Session[] = [];
    for (let i = 0; i < ids.length; i += READ_BATCH) {
      const batch = ids.slice(i, i + READ_BATCH);
      const values = await run(() => Promise.all(batch.map((id) => redis.mget(sessionKey(id), idleKey(id)))));
      for (const [session, idle] of values) {
        const parsed = parse(session ?? null, idle);
        if (parsed) found.push(parsed);
      }
    }
    return found;
  };

  const getSession = async (id: string) => (await read([id]))[0] ?? null;

  const store: RedisStore = {
    async ping() {
      await run(() => redis.ping());
    },
    getSession,
    async putSession(session) {
      const ttl = session.expiresAt - Date.now();
      if (ttl <= 0) return;
      // The user's index (its own slot) first: a session it lists that was never written is pruned when read,
      // while a session it missed would escape a sign-out of all the user's sessions.
      const user = USER_PREFIX + session.sub;
      await replicated(
        [
          ['sadd', user, session.id],
          ['pexpire', user, ttl, 'GT'],
          ['pexpire', user, ttl, 'NX'],
        ],
        true,
      );
      const writes: Command[] = [['set', sessionKey(session.id), serialize(session), 'PX', ttl]];
      if (session.idleTimeoutMs !== undefined) writes.push(['set', idleKey(session.id), '1', 'PX', Math.min(ttl, session.idleTimeoutMs)]);
      // The schedule entry goes out with the session, not after it: a new session is due for its first check at once.
      await Promise.all([replicated(writes, true), replicated([['zadd', DUE_KEY, Date.now(), session.id]])]);
      await run(() => notify(session.id));
    },
    async updateSession(session) {
      const ttl = session.expiresAt - Date.now();
      if (ttl <= 0) return false;
      const [res] = await replicated([['set', sessionKey(session.id), serialize(session), 'PX', ttl, 'XX']]);
      if (res !== 'OK') return false;
      // NX: a session keeps its place on the schedule, and one missing from it (lost in a failover) is put back.
      await Promise.all([replicated([['zadd', DUE_KEY, 'NX', Date.now(), session.id]]), run(() => notify(session.id))]);
      return true;
    },
    async touchSession(id) {
      const session = await getSession(id);
      if (!session) return false;
      if (session.idleTimeoutMs === undefined) return true;
      const ttl = Math.min(session.expiresAt - Date.now(), session.idleTimeoutMs);
      return (await run(() => redis.pexpire(idleKey(id), ttl))) === 1;
    },
    async deleteSession(id) {
      await Promise.all([replicated([['del', sessionKey(id), idleKey(id)]]), run(() => redis.zrem(DUE_KEY, id))]);
      await run(() => notify(id));
    },
    async endSession(id, keepSeconds) {
      const session = await getSession(id);
      const writes: Command[] = [['del', sessionKey(id), idleKey(id)]];
      // Only the ID token is kept, sealed like every IdP token at rest.
      if (session?.idToken !== undefined) {
        const { accessToken: _a, refreshToken: _r, ...kept } = session;
        writes.push(['set', endedKey(id), serialize(kept), 'EX', Math.max(1, Math.ceil(keepSeconds))]);
      }
      await Promise.all([replicated(writes, true), run(() => redis.zrem(DUE_KEY, id))]);
      await run(() => notify(id));
    },
    async takeEndedIdToken(id) {
      const raw = await run(() => redis.getdel(endedKey(id)));
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
      const keys = await run(() => scanKeys(redis, SESSION_MATCH, SCAN_LIMIT));
      return read(keys.map(sessionIdOf));
    },
    async dueSessions(until, limit) {
      const ids = await run(() => redis.zrangebyscore(DUE_KEY, '-inf', until, 'LIMIT', 0, limit));
      const sessions = await read(ids);
      const gone = ids.filter((id) => !sessions.some((s) => s.id === id));
      if (gone.length) await run(() => redis.zrem(DUE_KEY, ...gone));
      return { sessions, seen: ids };
    },
    async scheduledSessions() {
      return run(() => redis.zcard(DUE_KEY));
    },
    async scheduleChecks(checks) {
      const next = checks.flatMap(({ id, at }) => (at === undefined ? [] : [at, id]));
      const off = checks.flatMap(({ id, at }) => (at === undefined ? [id] : []));
      // XX: an entry removed with its session (a sign-out during the check) is not put back.
      await run(() => Promise.all([next.length && redis.zadd(DUE_KEY, 'XX', ...next), off.length && redis.zrem(DUE_KEY, ...off)]));
    },
    refresherLease(ttlMs) {
      return createRedisLease(redis, LEASE_KEY, ttlMs);
    },
    async indexSessions() {
      // Once per Redis: sessions written before the schedule existed (an upgrade) are put on it, due at once.
      if ((await run(() => redis.exists(DUE_INDEXED_KEY))) === 1) return 0;
      const ids = (await run(() => scanKeys(redis, SESSION_MATCH, SCAN_LIMIT))).map(sessionIdOf);
      for (let i = 0; i < ids.length; i += READ_BATCH) {
        const batch = ids.slice(i, i + READ_BATCH);
        await run(() => redis.zadd(DUE_KEY, 'NX', ...batch.flatMap((id) => [Date.now(), id])));
      }
      await run(() => redis.set(DUE_INDEXED_KEY, '1'));
      return ids.length;
    },
    subscribe(listener) {
      subscription ??= subscribeChannel(redis, target, CHANNEL, (sid) => {
        for (const l of listeners) l(sid);
      });
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async claimOnce(key, ttlSeconds) {
      const [res] = await replicated([['set', ONCE_PREFIX + key, '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX']]);
      return res === 'OK';
    },
    async putOneTimeValue(key, value, ttlSeconds) {
      await replicated([['set', VALUE_PREFIX + key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds))]]);
    },
    async takeOneTimeValue(key) {
      return run(() => redis.getdel(VALUE_PREFIX + key));
    },
    async recordApiToken(record) {
      const ttl = record.expiresAt - Date.now();
      if (ttl <= 0) return;
      await replicated([['set', API_TOKEN_PREFIX + record.jti, JSON.stringify(record), 'PX', ttl]]);
    },
    async listApiTokens() {
      const keys = await run(() => scanKeys(redis, `${API_TOKEN_PREFIX}*`, SCAN_LIMIT));
      const values: Array<string | null> = [];
      for (let i = 0; i < keys.length; i += READ_BATCH) {
        values.push(...(await run(() => Promise.all(keys.slice(i, i + READ_BATCH).map((key) => redis.get(key))))));
      }
      return values.flatMap((raw) => (raw ? [JSON.parse(raw) as ApiTokenRecord] : [])).filter((r) => r.expiresAt > Date.now());
    },
    async revokeApiToken(jti, until) {
      const ttl = Math.max(1, until - Date.now());
      await replicated([['set', DENIED_PREFIX + jti, '1', 'PX', ttl]]);
      const raw = await run(() => redis.get(API_TOKEN_PREFIX + jti));
      if (raw) {
        const record = JSON.parse(raw) as ApiTokenRecord;
        if (record.revokedAt === undefined) {
          record.revokedAt = Date.now();
          await replicated([['set', API_TOKEN_PREFIX + jti, JSON.stringify(record), 'KEEPTTL', 'XX']]);
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
      await Promise.all([subscription?.close(), closeConnection(redis)]);
    },
  };
  return store;
}

function targetOf(url: string): RedisTarget {
  const parsed = parseRedisUrl(url);
  if ('error' in parsed) throw new VallumError(ErrorCodes.CONFIG_INVALID, `cache.redis_url: ${parsed.error}`, { status: 500 });
  return parsed.target;
}
