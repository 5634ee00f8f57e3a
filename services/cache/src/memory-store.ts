import { apiTokenEvent, type CacheApi } from '@vallum/service-client';
import type { ApiTokenRecord, Session } from '@vallum/session';
import { matchesQuery } from './session-query.js';

export interface SessionStore extends CacheApi {
  /** Every live session, for the token refresher. */
  listSessions(): Promise<Session[]>;
  close(): Promise<void>;
}

/** Sessions in this process's memory: all-in-one mode without Redis. Expired entries are dropped when read or swept. */
export function createMemoryStore(now: () => number = Date.now): SessionStore {
  const sessions = new Map<string, Session>();
  const idleUntil = new Map<string, number>();
  const claimed = new Map<string, number>();
  const apiTokens = new Map<string, ApiTokenRecord>();
  /** Revoked token ids, until the tokens expire. */
  const denied = new Map<string, number>();
  const listeners = new Set<(sid: string) => void>();
  const notify = (sid: string) => {
    for (const listener of listeners) listener(sid);
  };
  const live = (id: string): Session | undefined => {
    const s = sessions.get(id);
    if (!s) return undefined;
    const idle = idleUntil.get(id);
    if (s.expiresAt <= now() || (s.idleTimeoutMs !== undefined && (idle === undefined || idle <= now()))) {
      sessions.delete(id);
      idleUntil.delete(id);
      return undefined;
    }
    return s;
  };
  const sweep = setInterval(() => {
    for (const id of sessions.keys()) live(id);
    for (const [k, until] of claimed) if (until <= now()) claimed.delete(k);
    for (const [k, until] of denied) if (until <= now()) denied.delete(k);
    for (const [k, record] of apiTokens) if (record.expiresAt <= now()) apiTokens.delete(k);
  }, 60_000);
  sweep.unref();
  return {
    async getSession(id) {
      const s = live(id);
      return s ? structuredClone(s) : null;
    },
    async putSession(session) {
      sessions.set(session.id, structuredClone(session));
      if (session.idleTimeoutMs !== undefined) idleUntil.set(session.id, now() + session.idleTimeoutMs);
      notify(session.id);
    },
    async updateSession(session) {
      if (!live(session.id)) return false;
      sessions.set(session.id, structuredClone(session));
      notify(session.id);
      return true;
    },
    async touchSession(id) {
      const s = live(id);
      if (!s) return false;
      if (s.idleTimeoutMs !== undefined) idleUntil.set(id, now() + s.idleTimeoutMs);
      return true;
    },
    async deleteSession(id) {
      sessions.delete(id);
      idleUntil.delete(id);
      notify(id);
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
