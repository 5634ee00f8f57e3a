export { createOidcClient, type OidcClient } from './oidc-client.js';
export { createOidcClients, clientOf, type IdpClients } from './idp-clients.js';
export { claimsOf, identityFields, identityOfClaims, type IdentityFields, type IdentityClaims } from './session-claims.js';
export { refreshSessionTokens, checkSessionUserinfo, isIdpRefusal, endsSession, idpErrorCode } from './refresh.js';
export { isIdpUnreachable, idpUnavailableError } from './idp-unavailable.js';
