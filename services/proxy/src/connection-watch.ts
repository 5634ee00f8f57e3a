// Long-lived responses (server-sent events, long polls, downloads) and upgraded sockets obey revocation: every
// forwarded one is watched until it ends; when its session changes (sign-out, back-channel logout, refresh, admin
// revocation) it is re-checked at once, and every few seconds anyway (expiry, a policy that now denies). A failed
// check closes it. The watch outlives config reloads: the newest proxy app installs its check, so open
// connections are judged by the policy in force now, not the one that let them in.
import type { SessionView } from '@vallum/session';
import type { ClientCertificateInfo } from '@vallum/policy';

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
  /** Other readings of `path` a back end may apply; each must still be allowed. */
  otherPaths?: readonly string[] | undefined;
  headers: Readonly<Record<string, string>>;
  sourceIp: string | undefined;
  clientCertificate?: ClientCertificateInfo | undefined;
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

/**
 * A watched connection, linked into the open list (no Map: entries come and go with every response), and into its
 * session's list, so a session change re-checks that session's connections without walking every open one.
 */
interface Watched {
  res: Closable;
  request: WatchedRequest;
  prev: Watched | undefined;
  next: Watched | undefined;
  sid: string;
  sidPrev: Watched | undefined;
  sidNext: Watched | undefined;
}

const WATCHED = Symbol('vallum.watched');
type Marked = Closable & { [WATCHED]?: Watched };

export function createConnectionWatch(): ConnectionWatch {
  let head: Watched | undefined;
  /** The newest watched connection of each session with any open. */
  const bySid = new Map<string, Watched>();
  const linkSession = (w: Watched) => {
    const first = bySid.get(w.sid);
    w.sidPrev = undefined;
    w.sidNext = first;
    if (first) first.sidPrev = w;
    bySid.set(w.sid, w);
  };
  const unlinkSession = (w: Watched) => {
    if (w.sidPrev) w.sidPrev.sidNext = w.sidNext;
    else if (w.sidNext) bySid.set(w.sid, w.sidNext);
    else bySid.delete(w.sid);
    if (w.sidNext) w.sidNext.sidPrev = w.sidPrev;
    w.sidPrev = w.sidNext = undefined;
  };
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
    unlinkSession(w);
  };
  const timer = setInterval(() => each((w) => check(w.res, w.request)), RECHECK_INTERVAL_MS);
  timer.unref();
  return {
    watch(res: Marked, request) {
      const known = res[WATCHED];
      if (known) {
        known.request = request;
        if (known.sid !== request.session.id) {
          unlinkSession(known);
          known.sid = request.session.id;
          linkSession(known);
        }
        return;
      }
      const w: Watched = { res, request, prev: undefined, next: head, sid: request.session.id, sidPrev: undefined, sidNext: undefined };
      if (head) head.prev = w;
      head = w;
      linkSession(w);
      res[WATCHED] = w;
      res.on('close', closed);
    },
    recheck(sid) {
      for (let w = bySid.get(sid); w; w = w.sidNext) check(w.res, w.request);
    },
    useCheck(next) {
      stillAllowed = next;
      each((w) => check(w.res, w.request));
    },
    close() {
      clearInterval(timer);
      head = undefined;
      bySid.clear();
    },
  };
}
