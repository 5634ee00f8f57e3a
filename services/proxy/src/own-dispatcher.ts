// The base of Vallum's own upstream clients (h1-upstream.ts, h2-upstream.ts): an undici Dispatcher, so forward.ts,
// the health checks (`dispatcher.request`) and the outlier probes use them as they would use an undici Pool. undici's
// `close` and `destroy` take a callback or return a promise; the subclasses write only what closing means to them.
import { createRequire } from 'node:module';
import type { Dispatcher as UndiciDispatcher } from 'undici';
// Mixes undici's request API (`dispatcher.request`) into Dispatcher.
import './undici-pool.js';

const DispatcherBase = createRequire(import.meta.url)('undici/lib/dispatcher/dispatcher.js') as new () => UndiciDispatcher;

export abstract class OwnDispatcher extends DispatcherBase {
  /** Takes no more requests; settles once those under way are done. */
  protected abstract shutDown(): Promise<void>;
  /** Ends everything at once: requests under way fail with `err`. */
  protected abstract tearDown(err: Error | null): void;

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = this.shutDown();
    if (callback) void done.then(callback);
    else return done;
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    this.tearDown(typeof a === 'function' ? null : (a ?? null));
    const callback = typeof a === 'function' ? a : b;
    if (callback) callback();
    else return Promise.resolve();
  }
}
