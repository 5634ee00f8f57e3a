// A token refresh or a userinfo check at the IdP for one session, and how to tell "the IdP said no" from "the IdP
// is down".
import * as oidc from 'openid-client';
import { ErrorCodes, isVallumError } from '@vallum/errors';
import type { Session } from '@vallum/session';
import type { OidcClient } from './oidc-client.js';
import { resolveClaimSources } from './claim-sources.js';
import { claimsOf, identityFields, identityOfClaims, sourceOptions, withoutGroups, type IdentityClaims, type IdentityFields } from './session-claims.js';

/** New tokens and claims for a session that has a refresh token; throws when the IdP refuses or cannot be reached. */
export async function refreshSessionTokens(idp: OidcClient, session: Session): Promise<IdentityFields> {
  if (!session.refreshToken) throw new Error('session has no refresh token');
  const configuration = await idp.configuration();
  const tokens = await oidc.refreshTokenGrant(configuration, session.refreshToken);
  const claims = await claimsOf(idp, tokens, session.sub, (err) => {
    if (isIdpRefusal(err)) throw err;
  });
  return identityFields(claims, tokens, session);
}

/**
 * Asks the IdP's userinfo endpoint, with the session's (still valid) access token, who the user is now: a user
 * removed or disabled at the IdP is refused there long before the access token expires.
 */
export async function checkSessionUserinfo(idp: OidcClient, session: Session): Promise<IdentityClaims> {
  if (!session.accessToken) throw new Error('session has no access token');
  const configuration = await idp.configuration();
  const userinfo = await oidc.fetchUserInfo(configuration, session.accessToken, session.sub);
  const known = idp.idp.groupsFromUserinfo ? withoutGroups(session.claims) : session.claims;
  return identityOfClaims(await resolveClaimSources({ ...known, ...userinfo }, sourceOptions(idp)), session);
}

/** The IdP answered and said no (e.g. invalid_grant for a deleted user or revoked grant), as opposed to being down or busy. */
export function isIdpRefusal(err: unknown): boolean {
  if (!(err instanceof oidc.ResponseBodyError || err instanceof oidc.WWWAuthenticateChallengeError)) return false;
  // 408 and 429 say "not now", not "no".
  return err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429;
}

/** A refresh or check failed in a way that must end the session: the IdP refused, or the identity is no longer acceptable. */
export function endsSession(err: unknown): boolean {
  return isIdpRefusal(err) || (isVallumError(err) && err.code === ErrorCodes.IDENTITY_INVALID);
}

/** The IdP's error code when it refused, for logs. */
export function idpErrorCode(err: unknown): string {
  if (err instanceof oidc.ResponseBodyError) return err.error;
  if (isVallumError(err)) return err.code;
  return 'refused';
}
