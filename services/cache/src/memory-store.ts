import type { CacheApi } from '@vallum/service-client';
import type { Session } from '@vallum/session';

/** Sessions in this process's memory: all-in-one mode without Redis. Expired entries are dropped when read or swept. */
export function createMemoryStore(now: () => number = Date.now): CacheApi & { close(): Promise<void> } {
  const sessions = new Map<string, Session>();
  const claimed = new Map<string, number>();
  const sweep = setInterval(() => {
    const t = now();
    for (const [id, s] of sessions) if (s.expiresAt <= t) sessions.delete(id);
    for (const [k, until] of claimed) if (until <= t) claimed.delete(k);
  }, 60_000);
  sweep.unref();
  return {
    async getSession(id) {
      const s = sessions.get(id);
      if (!s) return null;
      if (s.expiresAt <= now()) {
        sessions.delete(id);
        return null;
      }
      return structuredClone(s);
    },
    async putSession(session) {
      sessions.set(session.id, structuredClone(session));
    },
    async deleteSession(id) {
      sessions.delete(id);
    },
    async claimOnce(key, ttlSeconds) {
      const until = claimed.get(key);
      if (until !== undefined && until > now()) return false;
      claimed.set(key, now() + ttlSeconds * 1000);
      return true;
    },
    async close() {
      clearInterval(sweep);
    },
  };
}
