// The session cookie: a JWE (dir + A256GCM, key derived from cookie_secret) holding only the session id and its
// expiry; the session itself lives server-side. Opened cookies are memoised so a warm request costs a Map lookup.
import { EncryptJWT, jwtDecrypt } from 'jose';
import { BoundedCache } from './bounded-cache.js';
import { createHotPathCounters, type HotPathCounters } from './hot-path-counters.js';
import { deriveKeys, withEachKey, type Secrets } from './keys.js';

export interface SessionTicket {
  sid: string;
  /** Epoch ms after which the cookie is no longer honoured. */
  expiresAt: number;
}

export interface SessionCookieCodec {
  seal(ticket: SessionTicket): Promise<string>;
  /** The ticket, or null for a forged, tampered, expired or foreign cookie. */
  open(value: string): Promise<SessionTicket | null>;
  /** What `open` would answer, if this cookie was opened before; undefined when it must be decrypted. */
  peek(value: string): SessionTicket | null | undefined;
  /** Forget memoised cookies of a session (after sign-out). */
  forget(sid: string): void;
}

export interface CookieCodecOptions {
  /** Purpose label mixed into the key, so a cookie of one kind never opens as another. */
  purpose?: string;
  memoEntries?: number;
  now?: () => number;
  /** Where decryptions are counted (the process's counters). */
  counters?: HotPathCounters;
}

/** `cookieSecret`: the current secret seals; previous ones (after it in a list) still open what they sealed. */
export function createSessionCookieCodec(cookieSecret: Secrets, options: CookieCodecOptions = {}): SessionCookieCodec {
  const keys = deriveKeys(cookieSecret, options.purpose ?? 'session-cookie');
  const key = keys[0];
  const now = options.now ?? Date.now;
  const counters = options.counters ?? createHotPathCounters();
  const memo = new BoundedCache<string, SessionTicket>({ maxEntries: options.memoEntries ?? 10_000, groupOf: (_, t) => t.sid, now });
  const peek = (value: string) => {
    const hit = memo.get(value);
    if (hit) return hit.expiresAt > now() ? hit : null;
    return undefined;
  };
  return {
    async seal(ticket) {
      return new EncryptJWT({ sid: ticket.sid })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .setIssuedAt(Math.floor(now() / 1000))
        .setExpirationTime(Math.floor(ticket.expiresAt / 1000))
        .encrypt(key);
    },
    peek,
    async open(value) {
      const known = peek(value);
      if (known !== undefined) return known;
      counters.cookieDecrypts++;
      try {
        const { payload } = await withEachKey(keys, (k) =>
          jwtDecrypt(value, k, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'], currentDate: new Date(now()) }),
        );
        if (typeof payload.sid !== 'string' || typeof payload.exp !== 'number') return null;
        const ticket = { sid: payload.sid, expiresAt: payload.exp * 1000 };
        memo.set(value, ticket, ticket.expiresAt - now());
        return ticket;
      } catch {
        return null;
      }
    },
    forget(sid) {
      memo.deleteGroup(sid);
    },
  };
}
