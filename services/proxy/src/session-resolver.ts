// Finds the session behind a route host's cookie: the cookie open is memoised by the codec, the session is kept
// in-process for a few seconds, so a warm request makes no cache call.
import type { VallumConfig } from '@vallum/config';
import type { CacheApi } from '@vallum/service-client';
import { BoundedCache, type Session, type SessionCookieCodec } from '@vallum/session';

/** How long a session read from the cache is trusted before it is read again. */
const SESSION_CACHE_TTL_MS = 10_000;

export interface SessionResolver {
  fromCookie(value: string | undefined): Promise<Session | null>;
  forget(sid: string): void;
}

export function createSessionResolver(deps: { cache: CacheApi; cookies: SessionCookieCodec; config: Pick<VallumConfig, 'cookieName'> }): SessionResolver {
  const sessions = new BoundedCache<string, Session>(50_000);
  return {
    async fromCookie(value) {
      if (!value) return null;
      const ticket = await deps.cookies.open(value);
      if (!ticket) return null;
      let session = sessions.get(ticket.sid);
      if (!session) {
        const fetched = await deps.cache.getSession(ticket.sid);
        if (!fetched) return null;
        session = fetched;
        sessions.set(ticket.sid, session, Math.min(SESSION_CACHE_TTL_MS, session.expiresAt - Date.now()));
      }
      return session.expiresAt > Date.now() ? session : null;
    },
    forget(sid) {
      sessions.delete(sid);
      deps.cookies.forget(sid);
    },
  };
}
