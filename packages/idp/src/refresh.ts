// A token refresh at the IdP for one session, and how to tell "the IdP said no" from "the IdP is down".
import * as oidc from 'openid-client';
import type { Session } from '@vallum/session';
import type { OidcClient } from './oidc-client.js';
import { claimsOf, identityFields, type IdentityFields } from './session-claims.js';

/** New tokens and claims for a session that has a refresh token; throws when the IdP refuses or cannot be reached. */
export async function refreshSessionTokens(idp: OidcClient, session: Session): Promise<IdentityFields> {
  if (!session.refreshToken) throw new Error('session has no refresh token');
  const configuration = await idp.configuration();
  const tokens = await oidc.refreshTokenGrant(configuration, session.refreshToken);
  const claims = await claimsOf(configuration, tokens, session.sub, (err) => {
    if (isIdpRefusal(err)) throw err;
  });
  return identityFields(claims, tokens, session);
}

/** The IdP answered and said no (e.g. invalid_grant for a deleted user or revoked grant), as opposed to being down. */
export function isIdpRefusal(err: unknown): boolean {
  if (err instanceof oidc.ResponseBodyError) return err.status >= 400 && err.status < 500;
  return err instanceof oidc.WWWAuthenticateChallengeError;
}

/** The IdP's error code when it refused, for logs. */
export function idpErrorCode(err: unknown): string {
  return err instanceof oidc.ResponseBodyError ? err.error : 'refused';
}
