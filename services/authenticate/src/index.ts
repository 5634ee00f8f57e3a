export { buildApp, IDP_CALLBACK_PATH, type AuthenticateDeps } from './app.js';
export { ASYMMETRIC_ALGORITHMS } from './backchannel-logout.js';
export { createOidcClients, type OidcClient, type IdpClients } from '@vallum/idp';
