// The sign-in hand-off from the authenticate host to a route host: a signed (HS256, key derived from
// shared_secret), one-minute, single-use token naming the session, the route origin it is for, and where to go
// next. Single use is enforced by the caller claiming `jti` in the cache.
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { VallumError, ErrorCodes } from '@vallum/errors';
import { deriveKeys, withEachKey, type Secrets } from './keys.js';

export const HANDOFF_TTL_SECONDS = 60;

export interface Handoff {
  sid: string;
  /** Origin of the route host the session is handed to. */
  audience: string;
  /** Where the browser goes once the route host has set its cookie. */
  redirectUri: string;
  jti: string;
  expiresAt: number;
  /** The IdP of the session, when the signer named it (sign-out: the session is already ended in the store). */
  idp?: string;
}

export interface HandoffCodec {
  sign(input: { sid: string; audience: string; redirectUri: string; sessionExpiresAt: number; idp?: string | undefined }): Promise<string>;
  verify(token: string, audience: string): Promise<Handoff>;
}

/** `sharedSecret`: the current secret signs; previous ones still verify, so split services can be rolled one at a time. */
export function createHandoffCodec(sharedSecret: Secrets): HandoffCodec {
  const keys = deriveKeys(sharedSecret, 'handoff');
  const key = keys[0];
  return {
    async sign(input) {
      return new SignJWT({ sid: input.sid, rd: input.redirectUri, sx: input.sessionExpiresAt, ...(input.idp === undefined ? {} : { idp: input.idp }) })
        .setProtectedHeader({ alg: 'HS256', typ: 'vallum-handoff' })
        .setAudience(input.audience)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${HANDOFF_TTL_SECONDS}s`)
        .sign(key);
    },
    async verify(token, audience) {
      try {
        const { payload } = await withEachKey(keys, (k) => jwtVerify(token, k, { audience, algorithms: ['HS256'], typ: 'vallum-handoff' }));
        if (typeof payload.sid !== 'string' || typeof payload.rd !== 'string' || typeof payload.jti !== 'string') {
          throw new Error('malformed hand-off');
        }
        const handoff: Handoff = { sid: payload.sid, audience, redirectUri: payload.rd, jti: payload.jti, expiresAt: (payload.exp ?? 0) * 1000 };
        if (typeof payload.idp === 'string') handoff.idp = payload.idp;
        return handoff;
      } catch (cause) {
        throw new VallumError(ErrorCodes.HANDOFF_INVALID, 'The sign-in hand-off is invalid or expired. Please try again.', { status: 400, cause });
      }
    },
  };
}
