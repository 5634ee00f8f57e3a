// Long-lived responses (server-sent events, long polls, downloads) obey revocation: every forwarded response is
// watched until it ends; when its session changes (sign-out, back-channel logout, refresh, admin revocation) it is
// re-checked at once, and every few seconds anyway (expiry, a policy that now denies). A failed check closes it.
import type { Session } from '@vallum/session';

export const RECHECK_INTERVAL_MS = 2_000;

/** A response or an upgraded socket (WebSocket): anything that can be closed and says when it closed. */
export interface Closable {
  destroy(): unknown;
  once(event: 'close', listener: () => void): unknown;
}

export interface ConnectionWatch {
  /** Watches `res` until it closes; `stillAllowed` is asked on every re-check. */
  watch(res: Closable, session: Session, stillAllowed: () => Promise<boolean>): void;
  /** Re-checks the responses of one session now. */
  recheck(sid: string): void;
  close(): void;
}

export function createConnectionWatch(): ConnectionWatch {
  const open = new Map<Closable, { sid: string; stillAllowed: () => Promise<boolean> }>();
  const check = (res: Closable, entry: { stillAllowed: () => Promise<boolean> }) => {
    entry.stillAllowed().then(
      (ok) => {
        if (!ok) res.destroy();
      },
      // A check that cannot be made (cache down) keeps the stream: requests fail closed, streams wait for the next check.
      () => {},
    );
  };
  const timer = setInterval(() => {
    for (const [res, entry] of open) check(res, entry);
  }, RECHECK_INTERVAL_MS);
  timer.unref();
  return {
    watch(res, session, stillAllowed) {
      open.set(res, { sid: session.id, stillAllowed });
      res.once('close', () => open.delete(res));
    },
    recheck(sid) {
      for (const [res, entry] of open) if (entry.sid === sid) check(res, entry);
    },
    close() {
      clearInterval(timer);
      open.clear();
    },
  };
}
