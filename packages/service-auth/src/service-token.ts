// Short-lived HS256 tokens that authenticate one Vallum service to another when they run apart.
import { SignJWT, jwtVerify } from 'jose';
import { VallumError, ErrorCodes } from '@vallum/errors';
import { deriveKeys, withEachKey, type Secrets } from '@vallum/session';

const TOKEN_LIFETIME_SECONDS = 60;
const REUSE_FOR_MS = 30_000;
const VERIFIED_CACHE_MAX = 256;

export interface ServiceTokenSigner {
  token(audience: string): Promise<string>;
}

export interface ServiceTokenVerifier {
  /** The calling service's name (the token's issuer, `vallum:NAME`); throws 401 when the token is not valid. */
  verify(authorizationHeader: string | undefined): Promise<string>;
}

export function createServiceTokenSigner(sharedSecret: Secrets, issuer: string): ServiceTokenSigner {
  const key = deriveKeys(sharedSecret, 'service-token')[0];
  const cached = new Map<string, { token: string; reuseUntil: number }>();
  return {
    async token(audience) {
      const hit = cached.get(audience);
      const now = Date.now();
      if (hit && hit.reuseUntil > now) return hit.token;
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(`vallum:${issuer}`)
        .setAudience(`vallum:${audience}`)
        .setIssuedAt()
        .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
        .sign(key);
      cached.set(audience, { token, reuseUntil: now + REUSE_FOR_MS });
      return token;
    },
  };
}

/** Accepts tokens of the current secret and of previous ones, so split-mode services can be rolled one at a time. */
export function createServiceTokenVerifier(sharedSecret: Secrets, audience: string): ServiceTokenVerifier {
  const keys = deriveKeys(sharedSecret, 'service-token');
  // A verified token is remembered until it expires, so a busy caller costs one HMAC per minute, not per call.
  const verified = new Map<string, { caller: string; expiresAt: number }>();
  return {
    async verify(header) {
      const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
      if (!token) throw authRequired('missing service token');
      const hit = verified.get(token);
      if (hit !== undefined && hit.expiresAt > Date.now()) return hit.caller;
      try {
        const { payload } = await withEachKey(keys, (k) => jwtVerify(token, k, { audience: `vallum:${audience}`, algorithms: ['HS256'] }));
        if (typeof payload.iss !== 'string' || !payload.iss.startsWith('vallum:')) throw new Error('no calling service');
        const caller = payload.iss.slice('vallum:'.length);
        if (verified.size >= VERIFIED_CACHE_MAX) verified.clear();
        verified.set(token, { caller, expiresAt: (payload.exp ?? 0) * 1000 });
        return caller;
      } catch (cause) {
        throw authRequired('invalid service token', cause);
      }
    },
  };
}

function authRequired(message: string, cause?: unknown): VallumError {
  return new VallumError(ErrorCodes.SERVICE_AUTH_REQUIRED, message, { status: 401, cause });
}
