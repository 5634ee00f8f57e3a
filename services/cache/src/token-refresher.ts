// The cache service asks the IdP about every session every `token_refresh_interval`: it refreshes the tokens of
// sessions that expire within two intervals, and checks the others at userinfo with their access token, so a user
// removed or disabled at the IdP loses access within an interval even when access tokens live for an hour. Claims
// (email, groups) are updated either way. A refusal (invalid_grant, 401 at userinfo) ends the session at once, and
// the deletion reaches every proxy through the store's change events; an IdP that cannot be reached or answers 5xx
// is retried with back-off while the session keeps working (an outage does not sign anybody out).
import { checkSessionUserinfo, createOidcClient, endsSession, idpErrorCode, refreshSessionTokens, type OidcClient } from '@vallum/idp';
import type { VallumConfig } from '@vallum/config';
import type { Session } from '@vallum/session';
import { createRepeatedLog, errorFields, errorKey, type LogSink, type VallumMetrics } from '@vallum/telemetry';
import type { SessionStore } from './memory-store.js';

const MAX_BACKOFF_MS = 5 * 60_000;
const CONCURRENCY = 8;

export interface TokenRefresher {
  /** One pass over the sessions (the timer calls this every interval). */
  runOnce(): Promise<void>;
  close(): void;
}

export type RefreshLog = LogSink;

export function startTokenRefresher(
  config: Pick<VallumConfig, 'idp' | 'tokenRefreshIntervalMs'>,
  store: SessionStore,
  options: { idp?: OidcClient; log?: RefreshLog; metrics?: VallumMetrics | undefined } = {},
): TokenRefresher {
  const idp = options.idp ?? createOidcClient(config.idp);
  const log = options.log ?? { info() {}, warn() {}, error() {} };
  // An IdP that is down fails every session's refresh alike: one line per interval with a count, not one each.
  const repeated = createRepeatedLog(log);
  const interval = config.tokenRefreshIntervalMs;
  const outcome = (name: 'refreshed' | 'checked' | 'ended' | 'failed') => options.metrics?.tokenRefreshes.inc({ outcome: name });
  const failures = new Map<string, { count: number; retryAt: number }>();
  let running: Promise<void> | undefined;

  // An access token this close to expiry is refreshed; a userinfo call with it could be refused only for its age.
  const refreshDue = (s: Session, now: number) => s.tokenExpiresAt !== undefined && s.tokenExpiresAt - now <= 2 * interval;
  const due = (s: Session, now: number) =>
    (failures.get(s.id)?.retryAt ?? 0) <= now && (refreshDue(s, now) ? s.refreshToken !== undefined : s.accessToken !== undefined);

  const refresh = async (listed: Session) => {
    // Several processes may share one store: only one asks the IdP about a session per interval, and it reads the
    // session again so it never uses a refresh token another process has already rotated.
    if (!(await store.claimOnce(`refresh:${listed.id}`, Math.max(1, Math.floor(interval / 1000))))) return;
    const session = await store.getSession(listed.id);
    if (!session || !due(session, Date.now())) return;
    try {
      if (refreshDue(session, Date.now())) {
        await store.updateSession({ ...session, ...(await refreshSessionTokens(idp, session)) });
        outcome('refreshed');
      } else {
        const current = await checkSessionUserinfo(idp, session);
        // Unchanged claims are not written: a write tells every proxy to drop its copy of the session.
        if (canonical(current) !== canonical({ sub: session.sub, email: session.email, groups: session.groups, claims: session.claims })) {
          await store.updateSession({ ...session, ...current });
        }
        outcome('checked');
      }
      failures.delete(session.id);
    } catch (err) {
      if (endsSession(err)) {
        await store.deleteSession(session.id);
        failures.delete(session.id);
        outcome('ended');
        log.info({ sid_prefix: session.id.slice(0, 6), reason: idpErrorCode(err) }, 'the IdP refused the session; session ended');
        return;
      }
      outcome('failed');
      const count = (failures.get(session.id)?.count ?? 0) + 1;
      failures.set(session.id, { count, retryAt: Date.now() + Math.min(interval * 2 ** (count - 1), MAX_BACKOFF_MS) });
      repeated.write(
        'warn',
        `refresh:${errorKey(err)}`,
        { sid_prefix: session.id.slice(0, 6), attempt: count, ...errorFields(err) },
        'token refresh or userinfo check failed; the session keeps working and is retried',
      );
    }
  };

  const runOnce = async () => {
    const now = Date.now();
    const sessions = await store.listSessions().catch(() => undefined);
    if (sessions === undefined) return;
    options.metrics?.sessionsActive.set(sessions.length);
    for (const id of failures.keys()) if (!sessions.some((s) => s.id === id)) failures.delete(id);
    // A few IdP calls at a time, so one pass over many sessions still fits in an interval.
    const queue = sessions.filter((s) => due(s, now));
    const worker = async () => {
      for (let s = queue.shift(); s; s = queue.shift()) await refresh(s);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  };
  const tick = () => {
    running ??= runOnce()
      .catch((err: unknown) => log.warn({ err }, 'token refresh pass failed'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, interval);
  timer.unref();
  return {
    runOnce,
    close() {
      clearInterval(timer);
      repeated.close();
    },
  };
}

/** JSON with object keys sorted, so the same claims in another order compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
