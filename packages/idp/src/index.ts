export { createOidcClient, type OidcClient } from './oidc-client.js';
export { claimsOf, identityFields, type IdentityFields } from './session-claims.js';
export { refreshSessionTokens, isIdpRefusal, idpErrorCode } from './refresh.js';
