// `Authorization: Bearer` for scripts and services: a Vallum API token (service account, or the command-line
// login's token naming a session), a JWT the IdP issued (ID or access token), or a workload token from one of
// `jwt_issuers` (workload-tokens.ts), which works only on the routes that name its issuer. Verified tokens are
// memoised until they expire, like cookies, within a bound in bytes; a service-account token is also checked against
// the store's deny list and its maximum lifetime, and its memo is dropped the moment the cache announces its revocation.
import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { secretList, type VallumConfig } from '@vallum/config';
import { ErrorCodes, VallumError } from '@vallum/errors';
import {
  API_TOKEN_TYPE,
  ASYMMETRIC_JWT_ALGORITHMS,
  BoundedCache,
  cleanEmail,
  createApiTokenCodec,
  createHotPathCounters,
  createRemoteKeys,
  isUnacceptableEmail,
  IssuerUnreachableError,
  JWT_CLOCK_TOLERANCE_SECONDS,
  type HotPathCounters,
  type SessionView,
} from '@vallum/session';
import { apiTokenEvent, type CacheViewApi } from '@vallum/service-client';
import type { SessionResolver } from './session-resolver.js';
import { createWorkloadTokens } from './workload-tokens.js';

/** A safety net behind the revocation events (a proxy whose event stream is down re-reads the deny list this often). */
const SERVICE_ACCOUNT_RECHECK_MS = 10_000;
/** Bound of the memo of verified tokens: workload tokens carry every claim, and can be a few KiB each. */
const MEMO_MAX_BYTES = 32 * 1024 * 1024;
const MEMO_MAX_ENTRIES = 10_000;

export interface BearerAuth {
  /**
   * The caller's identity as a session, or null when the token is not valid (or is a workload token whose issuer
   * `routeId` does not allow; without a route, workload tokens are never valid). Throws a VallumError (503) when
   * the token's issuer cannot be reached.
   */
  identify(token: string, routeId?: string): Promise<SessionView | null>;
  /** What `identify` would return, from the memo alone; undefined when it must verify or look something up. */
  peek(token: string, routeId: string): SessionView | null | undefined;
}

export function bearerToken(authorization: string | undefined): string | undefined {
  const m = authorization ? /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(authorization) : null;
  return m?.[1];
}

export function createBearerAuth(deps: {
  config: Pick<VallumConfig, 'idp' | 'sharedSecret' | 'serviceAccountMaxLifetimeMs'> &
    Partial<Pick<VallumConfig, 'previousSharedSecrets' | 'jwtIssuers' | 'routes'>>;
  sessions: SessionResolver;
  cache: Pick<CacheViewApi, 'isApiTokenRevoked'>;
  counters?: HotPathCounters;
}): BearerAuth {
  const { config, sessions, cache } = deps;
  const counters = deps.counters ?? createHotPathCounters();
  const apiTokens = createApiTokenCodec(secretList(config.sharedSecret, config.previousSharedSecrets));
  const idpKeys = createRemoteKeys({ issuer: config.idp.issuer, allowInsecureHttp: config.idp.allowInsecureHttp });
  const workloads = createWorkloadTokens(config.jwtIssuers ?? []);
  /** Route id → the workload issuers it accepts. */
  const allowedIssuers = new Map((config.routes ?? []).map((r) => [r.id, new Set(r.allowJwtIssuers)]));

  /**
   * A verified token: a fixed identity (IdP token, service account, workload token, with the issuer that routes
   * must allow), or a session it names (looked up each use).
   */
  type Verified = { session: SessionView; until: number; issuer?: string; bytes: number } | { sid: string; expiresAt: number };
  const verified = new BoundedCache<string, Verified>({
    maxEntries: MEMO_MAX_ENTRIES,
    maxBytes: MEMO_MAX_BYTES,
    sizeOf: (token, v) => 2 * token.length + ('bytes' in v ? v.bytes : 128),
  });
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
      return { session, until: Date.now() + SERVICE_ACCOUNT_RECHECK_MS, bytes: 512 };
    }
    // The unverified `iss` only picks whose keys decide; a token from an issuer no one configured is refused unread.
    const iss = decodeJwt(token).iss;
    if (workloads.handles(iss)) {
      const workload = await workloads.verify(token, iss);
      if (!workload) return null;
      const session = pseudoSession(token, workload.sub, '', workload.groups, workload.expiresAt, workload.claims);
      return { session, until: workload.expiresAt, issuer: workload.issuer, bytes: 512 + 2 * JSON.stringify(workload.claims).length };
    }
    if (iss !== config.idp.issuer) return null;
    const { payload } = await jwtVerify(token, idpKeys, {
      issuer: config.idp.issuer,
      audience: config.idp.clientId,
      algorithms: [...ASYMMETRIC_JWT_ALGORITHMS],
      requiredClaims: ['exp', 'sub'],
      clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS,
    });
    if (isUnacceptableEmail(payload.email)) return null;
    const groups = Array.isArray(payload.groups) ? payload.groups.map(String) : [];
    return {
      session: pseudoSession(token, payload.sub!, cleanEmail(payload.email), groups, payload.exp! * 1000, { via: 'idp-token' }),
      until: payload.exp! * 1000,
      bytes: 512,
    };
  };
  /** A memoised verdict as `identify` gives it for this route; undefined when the session it names must be read. */
  const answerFor = (hit: Verified, routeId: string | undefined): SessionView | null | undefined => {
    if (!('session' in hit)) return hit.expiresAt > Date.now() ? undefined : null;
    if (hit.session.expiresAt <= Date.now()) return null;
    if (hit.issuer !== undefined && (routeId === undefined || !allowedIssuers.get(routeId)?.has(hit.issuer))) return null;
    return hit.session;
  };

  return {
    async identify(token, routeId) {
      let hit = verified.get(token);
      if (!hit) {
        counters.bearerVerifies++;
        const fresh = await verify(token).catch((err: unknown) => {
          if (err instanceof IssuerUnreachableError) throw issuerUnavailable(err);
          return null;
        });
        if (!fresh) return null;
        hit = fresh;
        verified.set(token, hit, ('session' in hit ? Math.min(hit.session.expiresAt, hit.until) : hit.expiresAt) - Date.now());
      }
      const answer = answerFor(hit, routeId);
      // The command-line login's token lives only as long as the session it names (sign-out ends it too).
      return answer === undefined && 'sid' in hit ? sessions.fromSid(hit.sid) : (answer ?? null);
    },
    peek(token, routeId) {
      const hit = verified.get(token);
      return hit && answerFor(hit, routeId);
    },
  };
}

function issuerUnavailable(cause: IssuerUnreachableError): VallumError {
  return new VallumError(ErrorCodes.JWT_ISSUER_UNAVAILABLE, "The bearer token's issuer cannot be reached right now; try again shortly.", {
    status: 503,
    expose: true,
    cause,
  });
}

function pseudoSession(token: string, sub: string, email: string, groups: string[], expiresAt: number, claims: Record<string, unknown>): SessionView {
  const id = `bearer:${createHash('sha256').update(token).digest('base64url').slice(0, 32)}`;
  return { id, sub, email, groups, claims, createdAt: Date.now(), expiresAt };
}
