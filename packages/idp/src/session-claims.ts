// What Vallum keeps of a user's IdP tokens: ID token claims merged with userinfo, and the identity fields a
// session and its headers are made of. Used at sign-in, at every token refresh and at every userinfo check.
import * as oidc from 'openid-client';
import { VallumError, ErrorCodes, isVallumError } from '@vallum/errors';
import { cleanEmail, isUnacceptableEmail, type Session } from '@vallum/session';
import { resolveClaimSources, type ClaimSourceOptions } from './claim-sources.js';
import { idpUnavailableError } from './idp-unavailable.js';
import type { OidcClient } from './oidc-client.js';

type TokenResponse = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

// The claim sources carry access tokens of their own: never kept, even if one were left unresolved.
const TOKEN_FIELDS = new Set(['at_hash', 'c_hash', 'nonce', 'auth_time', 'iat', 'exp', 'nbf', 'aud', 'azp', 'sid', 'iss', '_claim_names', '_claim_sources']);

/**
 * ID token claims plus userinfo, with aggregated and distributed claims resolved (claim-sources.ts). When userinfo
 * fails, onWarn decides: throw to fail, return to go on with the ID token's claims, unless the groups come from
 * userinfo alone (`groups_from_userinfo`), which then fails too.
 */
export async function claimsOf(
  idp: OidcClient,
  tokens: TokenResponse,
  knownSub: string | undefined,
  onWarn: (err: unknown) => void,
): Promise<Record<string, unknown>> {
  const configuration = await idp.configuration();
  const fromToken: Record<string, unknown> = tokens.claims() ?? {};
  const idClaims = idp.idp.groupsFromUserinfo ? withoutGroups(fromToken) : fromToken;
  const sub = typeof idClaims.sub === 'string' ? idClaims.sub : knownSub;
  if (!sub) return resolveClaimSources(idClaims, sourceOptions(idp));
  try {
    const userinfo = await oidc.fetchUserInfo(configuration, tokens.access_token, sub);
    return await resolveClaimSources({ ...idClaims, ...userinfo }, sourceOptions(idp));
  } catch (err) {
    if (isVallumError(err)) throw err;
    onWarn(err);
    if (idp.idp.groupsFromUserinfo) throw idpUnavailableError(err);
    return resolveClaimSources({ sub, ...idClaims }, sourceOptions(idp));
  }
}

/** The claims without groups, direct or distributed: with `groups_from_userinfo`, only userinfo's count. */
export function withoutGroups(claims: Record<string, unknown>): Record<string, unknown> {
  const { groups: _groups, ...rest } = claims;
  const names = rest._claim_names;
  if (names && typeof names === 'object' && Object.hasOwn(names, 'groups')) {
    const { groups: _source, ...otherNames } = names as Record<string, unknown>;
    rest._claim_names = otherNames;
  }
  return rest;
}

export function sourceOptions(idp: OidcClient): ClaimSourceOptions {
  return { issuer: idp.idp.issuer, keys: idp.keys, allowInsecureHttp: idp.idp.allowInsecureHttp };
}

export type IdentityFields = Pick<Session, 'sub' | 'email' | 'groups' | 'claims' | 'idToken' | 'accessToken' | 'refreshToken' | 'tokenExpiresAt'>;
export type IdentityClaims = Pick<Session, 'sub' | 'email' | 'groups' | 'claims'>;

/** The identity a session is made of; throws for an email that is not one plain address (see isUnacceptableEmail). */
export function identityOfClaims(claims: Record<string, unknown>, previous?: Session): IdentityClaims {
  if (isUnacceptableEmail(claims.email)) {
    throw new VallumError(
      ErrorCodes.IDENTITY_INVALID,
      'Your identity provider sent an email address Vallum cannot accept (it must contain exactly one @). Ask your administrator to correct your account.',
      {
        status: 403,
        expose: true,
      },
    );
  }
  const email = cleanEmail(claims.email);
  const kept = Object.fromEntries(Object.entries(claims).filter(([k]) => !TOKEN_FIELDS.has(k)));
  if (!email) delete kept.email;
  return {
    sub: String(claims.sub ?? previous?.sub ?? ''),
    email,
    groups: Array.isArray(claims.groups) ? claims.groups.map(String) : [],
    claims: kept,
  };
}

export function identityFields(claims: Record<string, unknown>, tokens: TokenResponse, previous?: Session): IdentityFields {
  return {
    ...identityOfClaims(claims, previous),
    idToken: tokens.id_token ?? previous?.idToken,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? previous?.refreshToken,
    tokenExpiresAt: tokens.expires_in ? Date.now() + tokens.expires_in * 1000 : undefined,
  };
}
