// IdP tokens at rest: a session record in Redis holds them only inside one AES-256-GCM box, keyed from
// token_encryption_key (or shared_secret) and bound to the session id, so a Redis dump or a copied value opens nothing.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKey, sessionView, type IdpTokens, type Session, type SessionView } from '@vallum/session';

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

export function createTokenCipher(secret: string): TokenCipher {
  const key = deriveKey(secret, 'idp-token-encryption');
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
      try {
        const bytes = Buffer.from(sealed, 'base64url');
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url')).setAAD(Buffer.from(stored.id, 'utf8'));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        const plain = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
        return { ...sessionView(rest), ...(JSON.parse(plain) as IdpTokens) };
      } catch {
        return null;
      }
    },
  };
}
