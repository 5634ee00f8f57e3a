// Telling an IdP that cannot be reached (the user should try again shortly: 503) from one that answered and refused,
// or sent something that does not verify (the sign-in failed: 400).
import * as oidc from 'openid-client';
import { VallumError, ErrorCodes } from '@vallum/errors';

/**
 * Whether an exchange with the IdP failed for want of an IdP: no connection (refused, reset, name not found), no
 * answer in time, or an answer of a server in trouble (5xx, 408, 429, a gateway's HTML error page).
 */
export function isIdpUnreachable(err: unknown): boolean {
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.WWWAuthenticateChallengeError) return troubled(err.status);
  // fetch's own failure: no HTTP answer at all (the cause says why).
  if (err instanceof TypeError && err.message === 'fetch failed') return true;
  if (err instanceof oidc.ClientError) {
    if (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT') return true;
    // A response that is not the protocol's: its status says whether the server was in trouble.
    const status = (err.cause as { status?: unknown } | undefined)?.status;
    return typeof status === 'number' && troubled(status);
  }
  return false;
}

function troubled(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export function idpUnavailableError(cause: unknown): VallumError {
  return new VallumError(ErrorCodes.IDP_UNAVAILABLE, 'The identity provider cannot be reached right now. Please try again in a moment.', {
    status: 503,
    expose: true,
    cause,
  });
}
