// Finds the session behind a route host's cookie: the cookie open is memoised by the codec, the session is kept
// in-process for a few seconds, so a warm request makes no cache call. The cache's change events drop a copy at
// once (sign-out, back-channel logout, refresh, admin revocation), on every proxy sharing the store.
import type { VallumConfig } from '@vallum/config';
import type { CacheViewApi } from '@vallum/service-client';
import { BoundedCache, createHotPathCounters, type HotPathCounters, type SessionView, type SessionCookieCodec } from '@vallum/session';

/** How long a session read from the cache is trusted before it is read again (a safety net behind the events). */
const SESSION_CACHE_TTL_MS = 10_000;

export interface SessionResolver {
  fromCookie(value: string | undefined): Promise<SessionView | null>;
  /** What `fromCookie` would answer from in-process copies alone; undefined when the codec or the store must be asked. */
  peek(value: string | undefined): SessionView | null | undefined;
  fromSid(sid: string): Promise<SessionView | null>;
  forget(sid: string): void;
  /** Called with the id of every session that changed or ended, after the in-process copies are dropped. */
  onChange(listener: (sid: string) => void): void;
  close(): void;
}

export function createSessionResolver(deps: {
  cache: CacheViewApi;
  cookies: SessionCookieCodec;
  config: Pick<VallumConfig, 'cookieName'>;
  onTouchError?: (err: unknown) => void;
  /** Where store reads are counted (the process's counters). */
  counters?: HotPathCounters;
}): SessionResolver {
  const counters = deps.counters ?? createHotPathCounters();
  const sessions = new BoundedCache<string, SessionView>(50_000);
  /** When this process last extended a session's idle deadline. */
  const touched = new BoundedCache<string, number>(50_000);
  const listeners: Array<(sid: string) => void> = [];
  const forget = (sid: string) => {
    sessions.delete(sid);
    touched.delete(sid);
    deps.cookies.forget(sid);
  };
  const unsubscribe = deps.cache.subscribe((sid) => {
    forget(sid);
    for (const l of listeners) l(sid);
  });

  // Activity extends the idle deadline, at most every quarter of the timeout (and a minute): not per request.
  const keepAlive = (session: SessionView, now: number) => {
    if (session.idleTimeoutMs === undefined) return;
    const every = Math.min(session.idleTimeoutMs / 4, 60_000);
    const last = touched.get(session.id);
    if (last !== undefined && now - last < every) return;
    touched.set(session.id, now, session.idleTimeoutMs);
    deps.cache.touchSession(session.id).then(
      (alive) => {
        if (!alive) forget(session.id);
      },
      (err: unknown) => deps.onTouchError?.(err),
    );
  };

  /** The in-process copy, unless it may have gone idle in the store: one not seen active within its idle timeout. */
  const copyOf = (sid: string): SessionView | undefined => {
    const session = sessions.get(sid);
    return session?.idleTimeoutMs !== undefined && touched.get(session.id) === undefined ? undefined : session;
  };
  const admit = (session: SessionView, now: number): SessionView | null => {
    if (session.expiresAt <= now) return null;
    keepAlive(session, now);
    return session;
  };

  const fromSid = async (sid: string): Promise<SessionView | null> => {
    const copy = copyOf(sid);
    if (copy) return admit(copy, Date.now());
    counters.sessionReads++;
    const fetched = await deps.cache.getSession(sid);
    if (!fetched) return null;
    const now = Date.now();
    sessions.set(sid, fetched, Math.min(SESSION_CACHE_TTL_MS, fetched.expiresAt - now));
    return admit(fetched, now);
  };

  return {
    async fromCookie(value) {
      if (!value) return null;
      const ticket = await deps.cookies.open(value);
      return ticket ? fromSid(ticket.sid) : null;
    },
    peek(value) {
      if (!value) return null;
      const ticket = deps.cookies.peek(value);
      if (!ticket) return ticket;
      const copy = copyOf(ticket.sid);
      return copy && admit(copy, Date.now());
    },
    fromSid,
    forget,
    onChange(listener) {
      listeners.push(listener);
    },
    close: unsubscribe,
  };
}
