// The cache service keeps IdP tokens fresh: every `token_refresh_interval` it refreshes the tokens of sessions
// that expire within two intervals, and updates their claims (email, groups). A refresh the IdP refuses ends the
// session at once; an IdP that cannot be reached is retried with back-off while the session keeps working.
import { createOidcClient, idpErrorCode, isIdpRefusal, refreshSessionTokens, type OidcClient } from '@vallum/idp';
import type { VallumConfig } from '@vallum/config';
import type { Session } from '@vallum/session';
import type { SessionStore } from './memory-store.js';

const MAX_BACKOFF_MS = 5 * 60_000;

export interface TokenRefresher {
  /** One pass over the sessions (the timer calls this every interval). */
  runOnce(): Promise<void>;
  close(): void;
}

export interface RefreshLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export function startTokenRefresher(
  config: Pick<VallumConfig, 'idp' | 'tokenRefreshIntervalMs'>,
  store: SessionStore,
  options: { idp?: OidcClient; log?: RefreshLog } = {},
): TokenRefresher {
  const idp = options.idp ?? createOidcClient(config.idp);
  const log = options.log ?? { info() {}, warn() {} };
  const interval = config.tokenRefreshIntervalMs;
  const failures = new Map<string, { count: number; retryAt: number }>();
  let running: Promise<void> | undefined;

  const due = (s: Session, now: number) =>
    s.refreshToken !== undefined && s.tokenExpiresAt !== undefined && s.tokenExpiresAt - now <= 2 * interval && (failures.get(s.id)?.retryAt ?? 0) <= now;

  const refresh = async (session: Session) => {
    // Several processes may share one store: only one refreshes a session per interval.
    if (!(await store.claimOnce(`refresh:${session.id}`, Math.max(1, Math.floor(interval / 1000))))) return;
    try {
      const updated: Session = { ...session, ...(await refreshSessionTokens(idp, session)) };
      await store.updateSession(updated);
      failures.delete(session.id);
    } catch (err) {
      if (isIdpRefusal(err)) {
        await store.deleteSession(session.id);
        failures.delete(session.id);
        log.info({ sid_prefix: session.id.slice(0, 6), reason: idpErrorCode(err) }, 'the IdP refused a token refresh; session ended');
        return;
      }
      const count = (failures.get(session.id)?.count ?? 0) + 1;
      failures.set(session.id, { count, retryAt: Date.now() + Math.min(interval * 2 ** (count - 1), MAX_BACKOFF_MS) });
      log.warn({ err, sid_prefix: session.id.slice(0, 6), attempt: count }, 'token refresh failed; the session keeps working and is retried');
    }
  };

  const runOnce = async () => {
    const now = Date.now();
    const sessions = await store.listSessions().catch(() => []);
    for (const id of failures.keys()) if (!sessions.some((s) => s.id === id)) failures.delete(id);
    for (const s of sessions) if (due(s, now)) await refresh(s);
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
    close: () => clearInterval(timer),
  };
}

