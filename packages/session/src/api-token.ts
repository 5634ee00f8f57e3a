// Vallum's own bearer tokens (HS256, key derived from shared_secret): a service account's token, printed by
// `vallum service-account create`, and the token the command-line login hands to a loopback listener, which names
// a session and so ends with it.
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { deriveKeys, withEachKey, type Secrets } from './keys.js';

export const API_TOKEN_TYPE = 'vallum-api+jwt';

/** `jti` and `issuedAt` are chosen at signing when not given, and always set on a verified token. */
export type ApiToken = (
  | { kind: 'service-account'; name: string; groups: string[]; expiresAt: number }
  | { kind: 'session'; sid: string; expiresAt: number }
) & { jti?: string; issuedAt?: number };

/** A service-account token as recorded in the store when issued, for `vallum service-account list` (never the token). */
export interface ApiTokenRecord {
  jti: string;
  /** The service account's name. */
  subject: string;
  groups: string[];
  issuedAt: number;
  expiresAt: number;
  description?: string;
  /** Set once revoked; a revoked token is refused by every proxy. */
  revokedAt?: number;
}

export interface ApiTokenCodec {
  sign(token: ApiToken): Promise<string>;
  /** The token, or null for anything forged, expired or not a Vallum API token. */
  verify(value: string): Promise<ApiToken | null>;
}

/** `sharedSecret`: the current secret signs; previous ones still verify the tokens they signed. */
export function createApiTokenCodec(sharedSecret: Secrets): ApiTokenCodec {
  const keys = deriveKeys(sharedSecret, 'api-token');
  const key = keys[0];
  return {
    async sign(token) {
      const claims = token.kind === 'service-account' ? { kind: token.kind, groups: token.groups } : { kind: token.kind };
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: API_TOKEN_TYPE })
        .setIssuer('vallum')
        .setSubject(token.kind === 'service-account' ? token.name : token.sid)
        .setJti(token.jti ?? randomUUID())
        .setIssuedAt(token.issuedAt === undefined ? undefined : Math.floor(token.issuedAt / 1000))
        .setExpirationTime(Math.floor(token.expiresAt / 1000))
        .sign(key);
    },
    async verify(value) {
      try {
        const { payload } = await withEachKey(keys, (k) =>
          jwtVerify(value, k, { algorithms: ['HS256'], typ: API_TOKEN_TYPE, issuer: 'vallum', requiredClaims: ['exp', 'sub', 'jti', 'iat'] }),
        );
        const expiresAt = payload.exp! * 1000;
        const stamp = { jti: payload.jti!, issuedAt: payload.iat! * 1000 };
        if (payload.kind === 'session') return { kind: 'session', sid: payload.sub!, expiresAt, ...stamp };
        if (payload.kind === 'service-account') {
          const groups = Array.isArray(payload.groups) ? payload.groups.map(String) : [];
          return { kind: 'service-account', name: payload.sub!, groups, expiresAt, ...stamp };
        }
        return null;
      } catch {
        return null;
      }
    },
  };
}
