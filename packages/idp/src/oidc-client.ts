// The IdP as openid-client sees it, discovered lazily: an IdP that is down at start does not stop Vallum, a
// sign-in then gets a clear 503 page, and the next attempt discovers again.
import * as oidc from 'openid-client';
import type { IdpConfig } from '@vallum/config';
import { createRemoteKeys, type KeyLookup } from '@vallum/session';
import { idpUnavailableError } from './idp-unavailable.js';

export interface OidcClient {
  configuration(): Promise<oidc.Configuration>;
  /** The settings of this IdP. */
  readonly idp: IdpConfig;
  /** Its signing keys, for the JWTs it signs outside a token response (aggregated and distributed claims). */
  readonly keys: KeyLookup;
}

export function createOidcClient(idp: IdpConfig): OidcClient {
  let pending: Promise<oidc.Configuration> | undefined;
  return {
    idp,
    keys: createRemoteKeys({ issuer: idp.issuer, allowInsecureHttp: idp.allowInsecureHttp }),
    configuration() {
      pending ??= oidc
        .discovery(new URL(idp.issuer), idp.clientId, undefined, oidc.ClientSecretBasic(idp.clientSecret), {
          execute: idp.allowInsecureHttp ? [oidc.allowInsecureRequests] : [],
          timeout: 5,
        })
        .catch((cause: unknown) => {
          pending = undefined;
          throw idpUnavailableError(cause);
        });
      return pending;
    },
  };
}
