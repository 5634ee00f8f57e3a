// The session store of `vallum --workers N` without Redis: the primary keeps the in-memory store, and workers call
// it over the cluster's IPC channel (one message each way per call). Every change event of the store is sent to every
// worker, so a sign-out or revocation drops their in-process copies at once, as Redis pub/sub does between processes.
// A worker sees the same CacheApi as the store itself; the proxy is given a view without IdP tokens, as all-in-one.
import type { Worker } from 'node:cluster';
import { ErrorCodes, VallumError } from '@vallum/errors';
import type { CacheApi } from '@vallum/service-client';

/**
 * The store's calls a worker makes; `subscribe` is served by the broadcast of change events instead. A Record, so a
 * call added to CacheApi does not compile until it is listed here.
 */
const CALL_NAMES: Record<Exclude<keyof CacheApi, 'subscribe'>, true> = {
  ping: true,
  getSession: true,
  findSessions: true,
  putSession: true,
  updateSession: true,
  touchSession: true,
  deleteSession: true,
  endSession: true,
  takeEndedIdToken: true,
  claimOnce: true,
  putOneTimeValue: true,
  takeOneTimeValue: true,
  recordApiToken: true,
  listApiTokens: true,
  revokeApiToken: true,
  isApiTokenRevoked: true,
};
const CALLS = Object.keys(CALL_NAMES) as Array<keyof typeof CALL_NAMES>;
type Call = (typeof CALLS)[number];
const IS_CALL: ReadonlySet<string> = new Set(CALLS);

/** A worker gives up on a call after this long (the primary may be stopping): the request gets a 503. */
const CALL_TIMEOUT_MS = 5_000;

type StoreRequest = { vallum: 'store-call'; id: number; call: Call; args: unknown[] };
type StoreReply = { vallum: 'store-reply'; id: number; value?: unknown; error?: string };
type StoreEvent = { vallum: 'store-event'; sid: string };

/** The primary's side: answers workers' calls from `store` and sends them its change events. */
export function serveStore(store: CacheApi, workers: () => Iterable<Worker>): { attach(worker: Worker): void; close(): void } {
  const unsubscribe = store.subscribe((sid) => {
    const event: StoreEvent = { vallum: 'store-event', sid };
    for (const w of workers()) if (w.isConnected()) w.send(event);
  });
  return {
    attach(worker) {
      worker.on('message', (message: StoreRequest) => {
        if (message?.vallum !== 'store-call' || !IS_CALL.has(message.call)) return;
        const reply = (r: Omit<StoreReply, 'vallum' | 'id'>) => worker.isConnected() && worker.send({ vallum: 'store-reply', id: message.id, ...r });
        const method = store[message.call] as (...args: unknown[]) => Promise<unknown>;
        method.apply(store, message.args).then(
          (value) => reply({ value: value ?? null }),
          (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
        );
      });
    },
    close: unsubscribe,
  };
}

/** A worker's side: the store in the primary, through `process.send`. */
export function createIpcCacheClient(): CacheApi {
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: unknown): void; timer: NodeJS.Timeout }>();
  const listeners = new Set<(sid: string) => void>();
  let next = 0;
  process.on('message', (message: StoreReply | StoreEvent) => {
    if (message?.vallum === 'store-event') {
      for (const listener of listeners) listener(message.sid);
    } else if (message?.vallum === 'store-reply') {
      const call = pending.get(message.id);
      if (!call) return;
      pending.delete(message.id);
      clearTimeout(call.timer);
      if (message.error === undefined) call.resolve(message.value);
      else call.reject(new VallumError(ErrorCodes.CACHE_UNAVAILABLE, `session store: ${message.error}`, { status: 503 }));
    }
  });
  const call =
    (name: Call) =>
    (...args: unknown[]): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const id = ++next;
        const unavailable = (why: string) => {
          pending.delete(id);
          reject(new VallumError(ErrorCodes.CACHE_UNAVAILABLE, `session store in the primary ${why}`, { status: 503 }));
        };
        const timer = setTimeout(() => unavailable(`did not answer within ${CALL_TIMEOUT_MS} ms`), CALL_TIMEOUT_MS);
        timer.unref();
        pending.set(id, { resolve, reject, timer });
        const request: StoreRequest = { vallum: 'store-call', id, call: name, args };
        const lost = () => {
          clearTimeout(timer);
          unavailable('cannot be reached');
        };
        if (!process.send || !process.connected) lost();
        else process.send(request, undefined, undefined, (err) => err && lost());
      });
  const client = Object.fromEntries(CALLS.map((name) => [name, call(name)])) as unknown as Omit<CacheApi, 'subscribe'>;
  return {
    ...client,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
