// `Authorization: Bearer` for scripts and services: a Vallum API token (service account, or the command-line
// login's token naming a session), or a JWT the IdP issued (ID or access token) verified against the IdP's JWKS
// with an asymmetric-only algorithm list. Verified tokens are memoised until they expire, like cookies; a
// service-account token is also checked against the store's deny list and its maximum lifetime, and its memo is
// dropped the moment the cache announces its revocation.
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { secretList, type VallumConfig } from '@vallum/config';
import {
  API_TOKEN_TYPE,
  BoundedCache,
  cleanEmail,
  createApiTokenCodec,
  createHotPathCounters,
  isUnacceptableEmail,
  type HotPathCounters,
  type SessionView,
} from '@vallum/session';
import { apiTokenEvent, type CacheViewApi } from '@vallum/service-client';
import type { SessionResolver } from './session-resolver.js';

/** Never `none`, never an HMAC (which a public key could be fed to as a secret). */
export const IDP_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const CLOCK_TOLERANCE_SECONDS = 30;
/** A safety net behind the revocation events (a proxy whose event stream is down re-reads the deny list this often). */
const SERVICE_ACCOUNT_RECHECK_MS = 10_000;

export interface BearerAuth {
  /** The caller's identity as a session, or null when the token is not valid. */
  identify(token: string): Promise<SessionView | null>;
}

export function bearerToken(authorization: string | undefined): string | undefined {
  const m = authorization ? /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(authorization) : null;
  return m?.[1];
}

export function createBearerAuth(deps: {
  config: Pick<VallumConfig, 'idp' | 'sharedSecret' | 'serviceAccountMaxLifetimeMs'> & Partial<Pick<VallumConfig, 'previousSharedSecrets'>>;
  sessions: SessionResolver;
  cache: Pick<CacheViewApi, 'isApiTokenRevoked'>;
  counters?: HotPathCounters;
}): BearerAuth {
  const { config, sessions, cache } = deps;
  const counters = deps.counters ?? createHotPathCounters();
  const apiTokens = createApiTokenCodec(secretList(config.sharedSecret, config.previousSharedSecrets));
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const idpKeys = async () => {
    if (jwks) return jwks;
    const res = await fetch(new URL(`${config.idp.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`), { signal: AbortSignal.timeout(5000) });
    const metadata = (await res.json()) as { jwks_uri?: string; issuer?: string };
    if (!metadata.jwks_uri || metadata.issuer !== config.idp.issuer) throw new Error('the IdP metadata has no jwks_uri or another issuer');
    jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
    return jwks;
  };

  /** A verified token: a fixed identity (IdP token, service account), or a session it names (looked up each use). */
  type Verified = { session: SessionView; until: number } | { sid: string; expiresAt: number };
  const verified = new BoundedCache<string, Verified>(10_000);
  /** Memoised service-account tokens by jti, so a revocation event finds its memo entry. */
  const byJti = new BoundedCache<string, string>(10_000);
  sessions.onChange((key) => {
    const jti = key.startsWith(apiTokenEvent('')) ? key.slice(apiTokenEvent('').length) : undefined;
    const token = jti === undefined ? undefined : byJti.get(jti);
    if (token === undefined) return;
    verified.delete(token);
    byJti.delete(jti!);
  });

  const verify = async (token: string): Promise<Verified | null> => {
    if (decodeProtectedHeader(token).typ === API_TOKEN_TYPE) {
      const parsed = await apiTokens.verify(token);
      if (!parsed) return null;
      if (parsed.kind === 'session') return { sid: parsed.sid, expiresAt: parsed.expiresAt };
      const tooOldAt = parsed.issuedAt! + config.serviceAccountMaxLifetimeMs;
      if (tooOldAt <= Date.now() || (await cache.isApiTokenRevoked(parsed.jti!))) return null;
      byJti.set(parsed.jti!, token, SERVICE_ACCOUNT_RECHECK_MS);
      const session = pseudoSession(token, `service-account:${parsed.name}`, '', parsed.groups, Math.min(parsed.expiresAt, tooOldAt), {
        service_account: parsed.name,
      });
      return { session, until: Date.now() + SERVICE_ACCOUNT_RECHECK_MS };
    }
    const { payload } = await jwtVerify(token, await idpKeys(), {
      issuer: config.idp.issuer,
      audience: config.idp.clientId,
      algorithms: IDP_TOKEN_ALGORITHMS,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    if (isUnacceptableEmail(payload.email)) return null;
    const groups = Array.isArray(payload.groups) ? payload.groups.map(String) : [];
    return {
      session: pseudoSession(token, payload.sub!, cleanEmail(payload.email), groups, payload.exp! * 1000, { via: 'idp-token' }),
      until: payload.exp! * 1000,
    };
  };

  return {
    async identify(token) {
      let hit = verified.get(token);
      if (!hit) {
        counters.bearerVerifies++;
        const fresh = await verify(token).catch(() => null);
        if (!fresh) return null;
        hit = fresh;
        verified.set(token, hit, ('session' in hit ? Math.min(hit.session.expiresAt, hit.until) : hit.expiresAt) - Date.now());
      }
      if ('session' in hit) return hit.session.expiresAt > Date.now() ? hit.session : null;
      // The command-line login's token lives only as long as the session it names (sign-out ends it too).
      return hit.expiresAt > Date.now() ? sessions.fromSid(hit.sid) : null;
    },
  };
}

function pseudoSession(token: string, sub: string, email: string, groups: string[], expiresAt: number, claims: Record<string, unknown>): SessionView {
  const id = `bearer:${createHash('sha256').update(token).digest('base64url').slice(0, 32)}`;
  return { id, sub, email, groups, claims, createdAt: Date.now(), expiresAt };
}
