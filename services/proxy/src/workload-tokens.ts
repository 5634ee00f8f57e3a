// Workload tokens: bearer JWTs from the issuers in `jwt_issuers` (Kubernetes service accounts, CI systems), each
// checked against its own issuer's keys by the same rules as the IdP's tokens. What a policy sees: `user` is the
// subject_claim, `groups` the groups_claim, every claim is there for claim/<name>, and the email is always empty
// (an issuer of workloads does not vouch for a mailbox).
import { jwtVerify } from 'jose';
import type { JwtIssuerConfig } from '@vallum/config';
import { ASYMMETRIC_JWT_ALGORITHMS, createRemoteKeys, IssuerUnreachableError, JWT_CLOCK_TOLERANCE_SECONDS, type KeyLookup } from '@vallum/session';

export interface WorkloadIdentity {
  issuer: string;
  sub: string;
  groups: string[];
  claims: Record<string, unknown>;
  /** The token's `exp`, epoch milliseconds. */
  expiresAt: number;
}

export interface WorkloadTokens {
  /** Whether `iss` (read before verifying) names one of the issuers, whose keys alone then decide. */
  handles(iss: unknown): iss is string;
  /** The identity, or null when the token is not valid; an IssuerUnreachableError when the issuer's keys cannot be fetched. */
  verify(token: string, iss: string): Promise<WorkloadIdentity | null>;
}

export function createWorkloadTokens(issuers: readonly JwtIssuerConfig[]): WorkloadTokens {
  const byIssuer = new Map<string, { config: JwtIssuerConfig; keys: KeyLookup }>();
  for (const config of issuers) {
    byIssuer.set(config.issuer, {
      config,
      keys: createRemoteKeys({ issuer: config.issuer, jwksUrl: config.jwksUrl, allowInsecureHttp: config.allowInsecureHttp }),
    });
  }
  return {
    handles: (iss): iss is string => typeof iss === 'string' && byIssuer.has(iss),
    async verify(token, iss) {
      const entry = byIssuer.get(iss);
      if (!entry) return null;
      const { config, keys } = entry;
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer: config.issuer,
          audience: [...config.audiences],
          algorithms: [...ASYMMETRIC_JWT_ALGORITHMS],
          requiredClaims: ['exp'],
          clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS,
        });
        const sub = payload[config.subjectClaim];
        if (typeof sub !== 'string' || sub === '') return null;
        const groups = payload[config.groupsClaim];
        return {
          issuer: config.issuer,
          sub,
          groups: Array.isArray(groups) ? groups.map(String) : typeof groups === 'string' && groups !== '' ? [groups] : [],
          claims: { ...payload, via: 'jwt-issuer' },
          expiresAt: payload.exp! * 1000,
        };
      } catch (err) {
        if (err instanceof IssuerUnreachableError) throw err;
        return null;
      }
    },
  };
}
