// The cache service asks the IdP about every session every `token_refresh_interval`: it refreshes the tokens of
// sessions that expire within two intervals, and checks the others at userinfo with their access token, so a user
// removed or disabled at the IdP loses access within an interval even when access tokens live for an hour. Claims
// (email, groups) are updated either way. A refusal (invalid_grant, 401 at userinfo) ends the session at once, and
// the deletion reaches every proxy through the store's change events; an IdP that cannot be reached or answers 5xx
// is retried with back-off while the session keeps working (an outage does not sign anybody out).
//
// A pass reads only the sessions that are due, from the store's schedule (a sorted set by next check time in
// Redis), a batch at a time, so its work follows the sessions due rather than all sessions. One process leads the
// refresh among those sharing a Redis, through a lease (redis-lease.ts); the others stand by and take over when the
// leader stops (it gives the lease back) or dies (the lease lapses after `leaseMs`). What the lease guarantees, and
// what it does not, is in docs/operations.md ("Refresh at scale").
import {
  checkSessionUserinfo,
  clientOf,
  createOidcClients,
  endsSession,
  idpErrorCode,
  refreshSessionTokens,
  type IdentityClaims,
  type IdentityFields,
  type IdpClients,
} from '@vallum/idp';
import { sessionIdp, type VallumConfig } from '@vallum/config';
import type { Session } from '@vallum/session';
import { createRepeatedLog, errorFields, errorKey, type LogSink, type VallumMetrics } from '@vallum/telemetry';
import type { ScheduledCheck, SessionStore } from './memory-store.js';

const MAX_BACKOFF_MS = 5 * 60_000;
const CONCURRENCY = 8;
/** Due sessions read from the store at a time. */
const BATCH = 500;

/** What the refresher asks the IdP; by default the OIDC client's refresh grant and userinfo. */
export interface IdpChecks {
  refreshTokens(session: Session): Promise<IdentityFields>;
  userinfo(session: Session): Promise<IdentityClaims>;
}

export interface TokenRefresher {
  /** One pass over the sessions that are due, when this process leads (the timer calls this every interval); resolves to the count checked. */
  runOnce(): Promise<number>;
  /** This process's fencing number while it leads the refresh, undefined while another process does. */
  leading(): number | undefined;
  /** Stops the timer and gives the lease back, so another process leads at its next pass. */
  close(): Promise<void>;
}

export type RefreshLog = LogSink;

export interface TokenRefresherOptions {
  /** The IdPs' clients (one per IdP, as authenticate uses them); made from the config when absent. */
  idps?: IdpClients;
  /** Replaces the IdP calls (a scale test without an IdP). */
  checks?: IdpChecks;
  log?: RefreshLog;
  /** How long the lead lasts without renewal: a leader that dies is replaced after this. Default three intervals. */
  leaseMs?: number;
  metrics?: VallumMetrics | undefined;
}

export function startTokenRefresher(
  config: Pick<VallumConfig, 'idps' | 'tokenRefreshIntervalMs'>,
  store: SessionStore,
  options: TokenRefresherOptions = {},
): TokenRefresher {
  const checks = options.checks ?? oidcChecks(options.idps ?? createOidcClients(config));
  const log = options.log ?? { info() {}, warn() {}, error() {} };
  // An IdP that is down fails every session's refresh alike: one line per interval with a count, not one each.
  const repeated = createRepeatedLog(log);
  const outcome = (name: 'refreshed' | 'checked' | 'ended' | 'failed') => options.metrics?.tokenRefreshes.inc({ outcome: name });
  const interval = config.tokenRefreshIntervalMs;
  const leaseMs = options.leaseMs ?? 3 * interval;
  const lease = store.refresherLease?.(leaseMs);
  /** Consecutive failures by session, for the back-off; an entry not updated for longer than any back-off is dropped. */
  const failures = new Map<string, { count: number; at: number }>();
  let fence: number | undefined = lease ? undefined : 0;
  let renewedAt = 0;
  let indexed = false;
  let closed = false;
  let running: Promise<unknown> | undefined;

  /** Takes or keeps the lead; false when another process leads. Without a lease (one process), always true. */
  const lead = async (): Promise<boolean> => {
    if (!lease) return true;
    const before = fence;
    fence = await lease.acquire().catch(() => undefined);
    if (fence !== undefined) renewedAt = Date.now();
    if (fence !== undefined && before === undefined) log.info({ fence }, 'this process leads the token refresh');
    if (fence === undefined && before !== undefined) log.warn({ fence: before }, 'this process lost the lead of the token refresh');
    return fence !== undefined;
  };
  /** Renewed well before it could lapse, so a slow IdP call never outlives the lease unnoticed. */
  const stillLeads = async (force: boolean): Promise<boolean> => {
    if (closed) return false;
    if (!lease) return true;
    if (fence === undefined) return false;
    if (!force && Date.now() - renewedAt < leaseMs / 3) return true;
    return lead();
  };

  // An access token this close to expiry is refreshed; a userinfo call with it could be refused only for its age.
  const refreshDue = (s: Session, now: number) => s.tokenExpiresAt !== undefined && s.tokenExpiresAt - now <= 2 * interval;
  const checkable = (s: Session, now: number) => (refreshDue(s, now) ? s.refreshToken !== undefined : s.accessToken !== undefined);

  /** Checks one session at the IdP; resolves to its next check time, undefined when it needs none. */
  const check = async (listed: Session, next: number): Promise<number | undefined> => {
    if (!checkable(listed, Date.now())) return undefined;
    let session = listed;
    try {
      if (refreshDue(session, Date.now())) {
        // A refresh token may be used once: even a leader that lost its lease mid-pass (and the one that took over)
        // cannot both spend it, and the session is read again so a token rotated meanwhile is the one used.
        if (!(await store.claimOnce(`refresh:${session.id}`, Math.max(1, Math.floor(interval / 1000))))) return next;
        const current = await store.getSession(session.id);
        if (!current) return undefined;
        session = current;
        if (!checkable(session, Date.now())) return undefined;
        await store.updateSession({ ...session, ...(await checks.refreshTokens(session)) });
        outcome('refreshed');
      } else {
        const current = await checks.userinfo(session);
        // Unchanged claims are not written: a write tells every proxy to drop its copy of the session.
        if (canonical(current) !== canonical({ sub: session.sub, email: session.email, groups: session.groups, claims: session.claims })) {
          await store.updateSession({ ...session, ...current });
        }
        outcome('checked');
      }
      failures.delete(session.id);
      return next;
    } catch (err) {
      if (endsSession(err)) {
        await store.deleteSession(session.id);
        failures.delete(session.id);
        outcome('ended');
        log.info({ sid_prefix: session.id.slice(0, 6), reason: idpErrorCode(err) }, 'the IdP refused the session; session ended');
        return undefined;
      }
      const count = (failures.get(session.id)?.count ?? 0) + 1;
      failures.set(session.id, { count, at: Date.now() });
      outcome('failed');
      repeated.write(
        'warn',
        `refresh:${errorKey(err)}`,
        { sid_prefix: session.id.slice(0, 6), attempt: count, ...errorFields(err) },
        'token refresh or userinfo check failed; the session keeps working and is retried',
      );
      return Date.now() + Math.min(interval * 2 ** (count - 1), MAX_BACKOFF_MS);
    }
  };

  const runOnce = async (): Promise<number> => {
    if (closed || !(await lead())) return 0;
    if (!indexed) {
      const count = await store.indexSessions?.();
      if (count) log.info({ sessions: count }, 'sessions written before the refresh schedule were put on it');
      indexed = true;
    }
    const start = Date.now();
    for (const [id, f] of failures) if (f.at < start - MAX_BACKOFF_MS - 2 * interval) failures.delete(id);
    // Timers are not exact: a session checked at the last pass, an interval ago, is due now, not at the next pass.
    const until = start + interval / 10;
    const next = start + interval;
    const done = new Set<string>();
    const read = new Set<string>();
    while (await stillLeads(true)) {
      const { sessions, seen } = await store.dueSessions(until, BATCH);
      // Entries that come back (a schedule write that did not take) would come back in every batch: the pass ends.
      const fresh = seen.filter((id) => !read.has(id));
      if (fresh.length === 0) break;
      for (const id of fresh) read.add(id);
      const queue = sessions.filter((s) => !done.has(s.id));
      // A few IdP calls at a time; the lease is renewed as the batch goes, and the batch stops if it was lost.
      const scheduled: ScheduledCheck[] = [];
      const worker = async () => {
        for (let s = queue.shift(); s; s = queue.shift()) {
          if (!(await stillLeads(false))) return;
          done.add(s.id);
          scheduled.push({ id: s.id, at: await check(s, next) });
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
      await store.scheduleChecks(scheduled);
    }
    if (options.metrics) options.metrics.sessionsActive.set(await store.scheduledSessions());
    return done.size;
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
    leading: () => fence,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
      repeated.close();
      fence = undefined;
      await lease?.release().catch(() => {});
    },
  };
}

/** Each session is refreshed and checked at the IdP that made it. */
function oidcChecks(idps: IdpClients): IdpChecks {
  return {
    refreshTokens: async (s) => refreshSessionTokens(clientOf(idps, sessionIdp(s)), s),
    userinfo: async (s) => checkSessionUserinfo(clientOf(idps, sessionIdp(s)), s),
  };
}

/** JSON with object keys sorted, so the same claims in another order compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
