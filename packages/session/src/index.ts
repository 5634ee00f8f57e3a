export type { Session } from './types.js';
export { BoundedCache } from './bounded-cache.js';
export { deriveKey } from './keys.js';
export { createSessionCookieCodec, type SessionCookieCodec, type SessionTicket, type CookieCodecOptions } from './session-cookie.js';
export { createSealedValueCodec, type SealedValueCodec } from './sealed-value.js';
export { createHandoffCodec, HANDOFF_TTL_SECONDS, type Handoff, type HandoffCodec } from './handoff.js';
export { sessionCookieOptions, type SessionCookieOptions } from './cookie-options.js';
export { newSessionId } from './new-session-id.js';
export { hotPathCounters } from './hot-path-counters.js';
