// Short-lived encrypted values carried through the browser: the sign-in state (PKCE verifier, state, nonce,
// return URL) in a cookie on the authenticate host.
import { EncryptJWT, jwtDecrypt, type JWTPayload } from 'jose';
import { deriveKey } from './keys.js';

export interface SealedValueCodec<T extends Record<string, unknown>> {
  seal(value: T, ttlSeconds: number): Promise<string>;
  open(sealed: string): Promise<T | null>;
}

export function createSealedValueCodec<T extends Record<string, unknown>>(secret: string, purpose: string): SealedValueCodec<T> {
  const key = deriveKey(secret, purpose);
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
        const { payload } = await jwtDecrypt(sealed, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
        return payload as unknown as T;
      } catch {
        return null;
      }
    },
  };
}
