// Short-lived encrypted values carried through the browser: the sign-in state (PKCE verifier, state, nonce,
// return URL) in a cookie on the authenticate host.
import { EncryptJWT, jwtDecrypt, type JWTPayload } from 'jose';
import { deriveKeys, withEachKey, type Secrets } from './keys.js';

export interface SealedValueCodec<T extends Record<string, unknown>> {
  seal(value: T, ttlSeconds: number): Promise<string>;
  open(sealed: string): Promise<T | null>;
}

export function createSealedValueCodec<T extends Record<string, unknown>>(secret: Secrets, purpose: string): SealedValueCodec<T> {
  const keys = deriveKeys(secret, purpose);
  const key = keys[0];
  return {
    async seal(value, ttlSeconds) {
      return new EncryptJWT(value as JWTPayload)
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .encrypt(key);
    },
    async open(sealed) {
      try {
        const { payload } = await withEachKey(keys, (k) =>
          jwtDecrypt(sealed, k, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] }),
        );
        return payload as unknown as T;
      } catch {
        return null;
      }
    },
  };
}
