// The session store with its failed operations counted (vallum_session_store_errors_total, by operation): the same
// store, the same answers and the same errors, each failure counted once where it happens.
import type { VallumMetrics } from '@vallum/telemetry';
import type { SessionStore } from './memory-store.js';

export function countStoreErrors<S extends SessionStore>(store: S, metrics: VallumMetrics): S {
  const counted: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(store)) {
    if (typeof member !== 'function') {
      counted[name] = member;
      continue;
    }
    const errors = metrics.storeErrors.labels({ operation: name });
    counted[name] = (...args: unknown[]) => {
      const out: unknown = member.apply(store, args);
      if (!(out instanceof Promise)) return out;
      return out.catch((err: unknown) => {
        errors.inc();
        throw err;
      });
    };
  }
  return counted as S;
}
