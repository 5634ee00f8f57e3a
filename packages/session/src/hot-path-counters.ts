/**
 * Counts of the costly steps on the request path, so tests and benchmarks can show that a warm session costs none of
 * them: cookie decryptions, session reads from the cache, assertion signatures and bearer token checks. One object
 * per process, made by the composition root and passed to whatever counts.
 */
export interface HotPathCounters {
  cookieDecrypts: number;
  sessionReads: number;
  assertionSigns: number;
  bearerVerifies: number;
}

export function createHotPathCounters(): HotPathCounters {
  return { cookieDecrypts: 0, sessionReads: 0, assertionSigns: 0, bearerVerifies: 0 };
}
