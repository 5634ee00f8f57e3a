// IdP tokens at rest: a session record in Redis holds them only inside one AES-256-GCM box, keyed from
// token_encryption_key (or shared_secret) and bound to the session id, so a Redis dump or a copied value opens nothing.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKeys, sessionView, type IdpTokens, type Secrets, type Session, type SessionView } from '@vallum/session';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A session as stored: no token in clear, the tokens sealed in `sealedTokens`. */
export type StoredSession = SessionView & { sealedTokens?: string };

export interface TokenCipher {
  seal(session: Session): StoredSession;
  /** The session with its tokens; null when the sealed tokens do not open (another key, or tampered with). */
  open(stored: StoredSession & IdpTokens): Session | null;
}

/**
 * `secret`: the current secret seals; previous ones (after it in a list) still open what they sealed, and the next
 * write of that session seals it under the current one.
 */
export function createTokenCipher(secret: Secrets): TokenCipher {
  const keys = deriveKeys(secret, 'idp-token-encryption');
  const key = keys[0];
  return {
    seal(session) {
      // A `sealedTokens` sent in by a caller is not ours: dropped, like the clear tokens.
      const { sealedTokens: _given, ...view }: StoredSession = sessionView(session);
      const tokens: IdpTokens = { idToken: session.idToken, accessToken: session.accessToken, refreshToken: session.refreshToken };
      if (tokens.idToken === undefined && tokens.accessToken === undefined && tokens.refreshToken === undefined) return view;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(session.id, 'utf8'));
      const sealed = Buffer.concat([cipher.update(JSON.stringify(tokens), 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return { ...view, sealedTokens: `${VERSION}.${iv.toString('base64url')}.${sealed.toString('base64url')}` };
    },
    open(stored) {
      const { sealedTokens, ...rest } = stored;
      // A record written before tokens were sealed is read as it is; the next write seals it.
      if (sealedTokens === undefined) return rest;
      const [version, iv, sealed] = sealedTokens.split('.');
      if (version !== VERSION || !iv || !sealed) return null;
      const bytes = Buffer.from(sealed, 'base64url');
      for (const k of keys) {
        const plain = openBox(k, Buffer.from(iv, 'base64url'), bytes, stored.id);
        if (plain !== null) return { ...sessionView(rest), ...(JSON.parse(plain) as IdpTokens) };
      }
      return null;
    },
  };
}

/** The plaintext, or null when the box was not sealed with this key (or was tampered with). */
function openBox(key: Uint8Array, iv: Buffer, bytes: Buffer, sid: string): string | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(sid, 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
