export { buildApp, IDP_CALLBACK_PATH, type AuthenticateDeps } from './app.js';
export { createOidcClient, type OidcClient } from './oidc-client.js';
