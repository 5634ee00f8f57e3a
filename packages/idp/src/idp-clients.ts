// One OIDC client per configured IdP, each discovered lazily and cached on its own: sign-in, refresh, sign-out and
// back-channel logout of a session all go to the client of the IdP that made it (pomerium #4759 refreshed at the
// wrong one).
import type { VallumConfig } from '@vallum/config';
import { VallumError, ErrorCodes } from '@vallum/errors';
import { createOidcClient, type OidcClient } from './oidc-client.js';

export type IdpClients = ReadonlyMap<string, OidcClient>;

/** A client for every IdP in `config.idps`. */
export function createOidcClients(config: Pick<VallumConfig, 'idps'>): IdpClients {
  return new Map(Object.values(config.idps).map((idp) => [idp.name, createOidcClient(idp)]));
}

/** The client of that IdP; an IdP no longer configured ends what it made (its sessions cannot be refreshed or checked). */
export function clientOf(clients: IdpClients, name: string): OidcClient {
  const client = clients.get(name);
  if (!client) {
    throw new VallumError(ErrorCodes.IDENTITY_INVALID, `The identity provider '${name}' of this session is no longer configured. Please sign in again.`, {
      status: 403,
      expose: true,
    });
  }
  return client;
}
