import { hkdfSync } from 'node:crypto';

/**
 * A secret, or a secret and the ones it replaced (current first). The current one signs and encrypts everything new;
 * the previous ones still verify and decrypt what they made, so a rotation signs nobody out.
 */
export type Secrets = string | readonly string[];

/** A 32-byte key for one purpose derived from a configured secret, so one secret never keys two kinds of thing. */
export function deriveKey(secret: string, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), `vallum:${purpose}`, 32));
}

/** The keys of `secrets` for one purpose, current first; derived once when a codec is built, never per request. */
export function deriveKeys(secrets: Secrets, purpose: string): readonly [Uint8Array, ...Uint8Array[]] {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  if (list.length === 0) throw new Error(`no secret for ${purpose}`);
  return list.map((s) => deriveKey(s, purpose)) as unknown as [Uint8Array, ...Uint8Array[]];
}

const WRONG_KEY = new Set(['ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JWE_DECRYPTION_FAILED']);

/**
 * Runs a jose verify/decrypt with the current key, then each previous one while the failure is "not this key".
 * Any other failure (expired, wrong audience, malformed) is the token's and is thrown at once. With one key this
 * is exactly one attempt: no cost until a previous secret is configured.
 */
export async function withEachKey<T>(keys: readonly Uint8Array[], attempt: (key: Uint8Array) => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt(keys[i]!);
    } catch (err) {
      if (i === keys.length - 1 || !WRONG_KEY.has((err as { code?: unknown }).code as string)) throw err;
    }
  }
}
