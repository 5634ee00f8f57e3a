/**
 * Process-wide counts of the costly steps on the request path, so tests and benchmarks can show that a warm
 * session costs none of them: cookie decryptions, session reads from the cache, and assertion signatures.
 */
export const hotPathCounters = { cookieDecrypts: 0, sessionReads: 0, assertionSigns: 0, bearerVerifies: 0 };
