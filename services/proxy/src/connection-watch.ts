// Long-lived responses (server-sent events, long polls, downloads) and upgraded sockets obey revocation: every
// forwarded one is watched until it ends; when its session changes (sign-out, back-channel logout, refresh, admin
// revocation) it is re-checked at once, and every few seconds anyway (expiry, a policy that now denies). A failed
// check closes it. The watch outlives config reloads: the newest proxy app installs its check, so open
// connections are judged by the policy in force now, not the one that let them in.
import type { Session } from '@vallum/session';

export const RECHECK_INTERVAL_MS = 2_000;

/** A response or an upgraded socket (WebSocket): anything that can be closed and says when it closed. */
export interface Closable {
  destroy(): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/** What was asked when the connection was let in, to ask again. */
export interface WatchedRequest {
  session: Session;
  cookie: string | undefined;
  authorization: string | undefined;
  routeId: string;
  method: string;
  host: string;
  path: string;
  headers: Readonly<Record<string, string>>;
  sourceIp: string | undefined;
}

export type StillAllowed = (request: WatchedRequest) => Promise<boolean>;

export interface ConnectionWatch {
  /** Watches `res` until it closes. */
  watch(res: Closable, request: WatchedRequest): void;
  /** Re-checks the connections of one session now. */
  recheck(sid: string): void;
  /** Makes `check` the judge of every open connection (the newest app's) and re-checks them all now. */
  useCheck(check: StillAllowed): void;
  close(): void;
}

export function createConnectionWatch(): ConnectionWatch {
  const open = new Map<Closable, WatchedRequest>();
  let stillAllowed: StillAllowed = async () => true;
  const check = (res: Closable, request: WatchedRequest) => {
    stillAllowed(request).then(
      (ok) => {
        if (!ok) res.destroy();
      },
      // A check that cannot be made (cache down) keeps the stream: requests fail closed, streams wait for the next check.
      () => {},
    );
  };
  // One listener function for every watched connection ('close' comes once): no closure per request.
  const closed = function (this: Closable) {
    open.delete(this);
  };
  const timer = setInterval(() => {
    for (const [res, request] of open) check(res, request);
  }, RECHECK_INTERVAL_MS);
  timer.unref();
  return {
    watch(res, request) {
      open.set(res, request);
      res.on('close', closed);
    },
    recheck(sid) {
      for (const [res, request] of open) if (request.session.id === sid) check(res, request);
    },
    useCheck(next) {
      stillAllowed = next;
      for (const [res, request] of open) check(res, request);
    },
    close() {
      clearInterval(timer);
      open.clear();
    },
  };
}
