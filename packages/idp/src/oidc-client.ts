// The IdP as openid-client sees it, discovered lazily: an IdP that is down at start does not stop Vallum, a
// sign-in then gets a clear 503 page, and the next attempt discovers again.
import * as oidc from 'openid-client';
import { VallumError, ErrorCodes } from '@vallum/errors';
import type { IdpConfig } from '@vallum/config';

export interface OidcClient {
  configuration(): Promise<oidc.Configuration>;
}

export function createOidcClient(idp: IdpConfig): OidcClient {
  let pending: Promise<oidc.Configuration> | undefined;
  return {
    configuration() {
      pending ??= oidc
        .discovery(new URL(idp.issuer), idp.clientId, undefined, oidc.ClientSecretBasic(idp.clientSecret), {
          execute: idp.allowInsecureHttp ? [oidc.allowInsecureRequests] : [],
          timeout: 5,
        })
        .catch((cause: unknown) => {
          pending = undefined;
          throw new VallumError(ErrorCodes.IDP_UNAVAILABLE, 'The identity provider cannot be reached right now. Please try again in a moment.', {
            status: 503,
            expose: true,
            cause,
          });
        });
      return pending;
    },
  };
}
