import { apiTokenEvent, type CacheApi } from '@vallum/service-client';
import type { ApiTokenRecord, Secrets, Session } from '@vallum/session';
import type { Lease } from './redis-lease.js';
import { matchesQuery } from './session-query.js';

export interface DueSessions {
  /** The live ones among the entries read. */
  sessions: Session[];
  /** The ids of the entries read (those of sessions that are gone were dropped from the schedule); none when none was due. */
  seen: string[];
}

export interface ScheduledCheck {
  id: string;
  at: number | undefined;
}

export interface SessionStore extends CacheApi {
  /** Every live session, read in batches (an admin query that is not by user). */
  listSessions(): Promise<Session[]>;
  /**
   * Sessions whose next IdP check is due by `until` (ms), at most `limit`: the token refresher's schedule. A session
   * written with putSession is due at once; the refresher then sets its next check with scheduleCheck.
   */
  dueSessions(until: number, limit: number): Promise<DueSessions>;
  /** When the refresher next checks these sessions; `at` undefined takes one off the schedule. Never schedules a session that is gone. */
  scheduleChecks(checks: ScheduledCheck[]): Promise<void>;
  /** How many sessions are on the refresher's schedule (those holding IdP tokens to check). */
  scheduledSessions(): Promise<number>;
  /**
   * Leadership of the token refresher among the processes sharing this store (Redis); a store in one process's
   * memory has none, and its process leads.
   */
  refresherLease?(ttlMs: number): Lease;
  /** Puts the sessions written before the schedule existed on it, once per store; the count put. */
  indexSessions?(): Promise<number>;
  /** Seals IdP tokens at rest with these secrets from now on (current first), for a reload; stores that seal none lack it. */
  useTokenSecrets?(secrets: Secrets): void;
  close(): Promise<void>;
}

export interface MemoryStoreOptions {
  /** Most sessions kept; past it the oldest (least recently written or touched) is evicted. Default 100,000. */
  maxSessions?: number;
  /** Most bytes of sessions kept (estimated from their serialised length). Default 256 MiB. */
  maxBytes?: number;
  log?: { warn(fields: Record<string, unknown>, message: string): void };
  /** Told how many sessions each write evicted (for vallum_session_store_evictions_total). */
  onEvict?: (count: number) => void;
  now?: () => number;
}

export interface MemoryStoreStats {
  sessions: number;
  bytes: number;
  /** Sessions evicted to stay within the bounds since the store started. */
  evictions: number;
}

export const DEFAULT_MEMORY_MAX_SESSIONS = 100_000;
const DEFAULT_MEMORY_MAX_BYTES = 256 * 1024 * 1024;
/** Warn at most this often: a burst of sign-ins evicting thousands of sessions is one line, with the count. */
const EVICTION_LOG_INTERVAL_MS = 10_000;

/**
 * Sessions in this process's memory: all-in-one mode without Redis. Expired entries are dropped when read or swept.
 * Bounded, so a flood of sign-ins cannot grow it without limit: past the bounds the oldest session ends (evicted,
 * counted, logged, and announced to subscribers like a sign-out).
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): SessionStore & { stats(): MemoryStoreStats } {
  const now = options.now ?? Date.now;
  const maxSessions = options.maxSessions ?? DEFAULT_MEMORY_MAX_SESSIONS;
  const maxBytes = options.maxBytes ?? DEFAULT_MEMORY_MAX_BYTES;
  // Map order is recency: a write or touch re-inserts, eviction takes from the front.
  const sessions = new Map<string, Session>();
  const sizes = new Map<string, number>();
  let bytes = 0;
  let evictions = 0;
  let unlogged = 0;
  let loggedAt = -Infinity;
  const idleUntil = new Map<string, number>();
  // The refresher's schedule: next check time by session. Read by a scan, bounded like the sessions themselves.
  const checkAt = new Map<string, number>();
  const claimed = new Map<string, number>();
  const oneTime = new Map<string, { value: string; until: number }>();
  /** Signed-out sessions' ID tokens, for the IdP's id_token_hint only, until the deadline. */
  const ended = new Map<string, { idToken: string; until: number }>();
  const apiTokens = new Map<string, ApiTokenRecord>();
  /** Revoked token ids, until the tokens expire. */
  const denied = new Map<string, number>();
  const listeners = new Set<(sid: string) => void>();
  const notify = (sid: string) => {
    for (const listener of listeners) listener(sid);
  };
  const drop = (id: string) => {
    sessions.delete(id);
    idleUntil.delete(id);
    checkAt.delete(id);
    bytes -= sizes.get(id) ?? 0;
    sizes.delete(id);
  };
  const write = (session: Session) => {
    const size = JSON.stringify(session).length * 2;
    bytes -= sizes.get(session.id) ?? 0;
    sessions.delete(session.id);
    sessions.set(session.id, structuredClone(session));
    sizes.set(session.id, size);
    bytes += size;
    let evicted = 0;
    for (const oldest of sessions.keys()) {
      if (sessions.size <= maxSessions && bytes <= maxBytes) break;
      if (oldest === session.id) continue;
      drop(oldest);
      notify(oldest);
      evicted++;
    }
    if (evicted > 0) evictedSome(evicted);
  };
  const evictedSome = (count: number) => {
    evictions += count;
    options.onEvict?.(count);
    unlogged += count;
    if (now() - loggedAt < EVICTION_LOG_INTERVAL_MS) return;
    loggedAt = now();
    options.log?.warn(
      { evicted: unlogged, evictions, sessions: sessions.size, bytes, maxSessions, maxBytes },
      'the in-memory session store is full: the oldest sessions were ended (use Redis, or raise cache.memory_max_sessions)',
    );
    unlogged = 0;
  };
  const live = (id: string): Session | undefined => {
    const s = sessions.get(id);
    if (!s) return undefined;
    const idle = idleUntil.get(id);
    if (s.expiresAt <= now() || (s.idleTimeoutMs !== undefined && (idle === undefined || idle <= now()))) {
      drop(id);
      return undefined;
    }
    return s;
  };
  const sweep = setInterval(() => {
    for (const id of sessions.keys()) live(id);
    for (const [k, until] of claimed) if (until <= now()) claimed.delete(k);
    for (const [k, record] of oneTime) if (record.until <= now()) oneTime.delete(k);
    for (const [k, record] of ended) if (record.until <= now()) ended.delete(k);
    for (const [k, until] of denied) if (until <= now()) denied.delete(k);
    for (const [k, record] of apiTokens) if (record.expiresAt <= now()) apiTokens.delete(k);
  }, 60_000);
  sweep.unref();
  return {
    // In this process's memory: it answers while the process does.
    async ping() {},
    async getSession(id) {
      const s = live(id);
      return s ? structuredClone(s) : null;
    },
    stats() {
      return { sessions: sessions.size, bytes, evictions };
    },
    async putSession(session) {
      write(session);
      if (session.idleTimeoutMs !== undefined) idleUntil.set(session.id, now() + session.idleTimeoutMs);
      checkAt.set(session.id, now());
      notify(session.id);
    },
    async updateSession(session) {
      if (!live(session.id)) return false;
      write(session);
      if (!checkAt.has(session.id)) checkAt.set(session.id, now());
      notify(session.id);
      return true;
    },
    async touchSession(id) {
      const s = live(id);
      if (!s) return false;
      if (s.idleTimeoutMs !== undefined) idleUntil.set(id, now() + s.idleTimeoutMs);
      sessions.delete(id);
      sessions.set(id, s);
      return true;
    },
    async deleteSession(id) {
      drop(id);
      notify(id);
    },
    async endSession(id, keepSeconds) {
      const idToken = live(id)?.idToken;
      if (idToken !== undefined) ended.set(id, { idToken, until: now() + keepSeconds * 1000 });
      sessions.delete(id);
      idleUntil.delete(id);
      checkAt.delete(id);
      notify(id);
    },
    async takeEndedIdToken(id) {
      const record = ended.get(id);
      ended.delete(id);
      return record && record.until > now() ? record.idToken : null;
    },
    async findSessions(query) {
      return [...sessions.keys()].flatMap((id) => {
        const s = live(id);
        return s && matchesQuery(s, query) ? [structuredClone(s)] : [];
      });
    },
    async listSessions() {
      return [...sessions.keys()].flatMap((id) => {
        const s = live(id);
        return s ? [structuredClone(s)] : [];
      });
    },
    async dueSessions(until, limit) {
      const found: Session[] = [];
      const seen: string[] = [];
      for (const [id, at] of checkAt) {
        if (seen.length >= limit) break;
        if (at > until) continue;
        seen.push(id);
        const s = live(id);
        if (s) found.push(structuredClone(s));
        else checkAt.delete(id);
      }
      return { sessions: found, seen };
    },
    async scheduledSessions() {
      return checkAt.size;
    },
    async scheduleChecks(checks) {
      for (const { id, at } of checks) {
        if (at === undefined || !live(id)) checkAt.delete(id);
        else checkAt.set(id, at);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async claimOnce(key, ttlSeconds) {
      const until = claimed.get(key);
      if (until !== undefined && until > now()) return false;
      claimed.set(key, now() + ttlSeconds * 1000);
      return true;
    },
    async putOneTimeValue(key, value, ttlSeconds) {
      oneTime.set(key, { value, until: now() + ttlSeconds * 1000 });
    },
    async takeOneTimeValue(key) {
      const record = oneTime.get(key);
      oneTime.delete(key);
      return record && record.until > now() ? record.value : null;
    },
    async recordApiToken(record) {
      apiTokens.set(record.jti, structuredClone(record));
    },
    async listApiTokens() {
      return [...apiTokens.values()].filter((r) => r.expiresAt > now()).map((r) => structuredClone(r));
    },
    async revokeApiToken(jti, until) {
      denied.set(jti, until);
      const record = apiTokens.get(jti);
      if (record && record.revokedAt === undefined) record.revokedAt = now();
      notify(apiTokenEvent(jti));
    },
    async isApiTokenRevoked(jti) {
      const until = denied.get(jti);
      return until !== undefined && until > now();
    },
    async close() {
      clearInterval(sweep);
      listeners.clear();
    },
  };
}
