// What Vallum keeps of a user's IdP tokens: ID token claims merged with userinfo, and the identity fields a
// session and its headers are made of. Used at sign-in, at every token refresh and at every userinfo check.
import * as oidc from 'openid-client';
import { VallumError, ErrorCodes } from '@vallum/errors';
import { cleanEmail, isUnacceptableEmail, type Session } from '@vallum/session';

type TokenResponse = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

const TOKEN_FIELDS = new Set(['at_hash', 'c_hash', 'nonce', 'auth_time', 'iat', 'exp', 'nbf', 'aud', 'azp', 'sid', 'iss']);

/** ID token claims plus userinfo. When userinfo fails, onWarn decides: throw to fail, return to go on with the ID token's claims. */
export async function claimsOf(
  configuration: oidc.Configuration,
  tokens: TokenResponse,
  knownSub: string | undefined,
  onWarn: (err: unknown) => void,
): Promise<Record<string, unknown>> {
  const idClaims: Record<string, unknown> = tokens.claims() ?? {};
  const sub = typeof idClaims.sub === 'string' ? idClaims.sub : knownSub;
  if (!sub) return idClaims;
  try {
    const userinfo = await oidc.fetchUserInfo(configuration, tokens.access_token, sub);
    return { ...idClaims, ...userinfo };
  } catch (err) {
    onWarn(err);
    return { sub, ...idClaims };
  }
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
