export { buildApp, IDP_CALLBACK_PATH, type AuthenticateDeps } from './app.js';
export { createOidcClient, type OidcClient } from './oidc-client.js';
export { claimsOf, identityFields } from './session-claims.js';
export { ASYMMETRIC_ALGORITHMS } from './backchannel-logout.js';
