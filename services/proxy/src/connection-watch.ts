// Long-lived responses (server-sent events, long polls, downloads) and upgraded sockets obey revocation: every
// forwarded one is watched until it ends; when its session changes (sign-out, back-channel logout, refresh, admin
// revocation) it is re-checked at once, and every few seconds anyway (expiry, a policy that now denies). A failed
// check closes it. The watch outlives config reloads: the newest proxy app installs its check, so open
// connections are judged by the policy in force now, not the one that let them in.
import type { SessionView } from '@vallum/session';

export const RECHECK_INTERVAL_MS = 2_000;

/** A response or an upgraded socket (WebSocket): anything that can be closed and says when it closed. */
export interface Closable {
  destroy(): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/** What was asked when the connection was let in, to ask again. */
export interface WatchedRequest {
  session: SessionView;
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

/** A watched connection, linked into the open list (no Map: entries come and go with every response). */
interface Watched {
  res: Closable;
  request: WatchedRequest;
  prev: Watched | undefined;
  next: Watched | undefined;
}

const WATCHED = Symbol('vallum.watched');
type Marked = Closable & { [WATCHED]?: Watched };

export function createConnectionWatch(): ConnectionWatch {
  let head: Watched | undefined;
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
  const each = (visit: (w: Watched) => void) => {
    for (let w = head; w; w = w.next) visit(w);
  };
  // One listener function for every watched connection ('close' comes once): no closure per request.
  const closed = function (this: Marked) {
    const w = this[WATCHED];
    if (!w) return;
    this[WATCHED] = undefined;
    if (w.prev) w.prev.next = w.next;
    else head = w.next;
    if (w.next) w.next.prev = w.prev;
    w.prev = w.next = undefined;
  };
  const timer = setInterval(() => each((w) => check(w.res, w.request)), RECHECK_INTERVAL_MS);
  timer.unref();
  return {
    watch(res: Marked, request) {
      const known = res[WATCHED];
      if (known) {
        known.request = request;
        return;
      }
      const w: Watched = { res, request, prev: undefined, next: head };
      if (head) head.prev = w;
      head = w;
      res[WATCHED] = w;
      res.on('close', closed);
    },
    recheck(sid) {
      each((w) => {
        if (w.request.session.id === sid) check(w.res, w.request);
      });
    },
    useCheck(next) {
      stillAllowed = next;
      each((w) => check(w.res, w.request));
    },
    close() {
      clearInterval(timer);
      head = undefined;
    },
  };
}
