export type { AuthorizeApi, AuthorizeRequest, CacheApi, CacheViewApi, SessionQuery } from './apis.js';
export { apiTokenEvent } from './apis.js';
export { revokeApiTokenUntilExpiry } from './revoke-api-token.js';
export { callService, pingService, type ServiceEndpoint, type CallOptions } from './call-service.js';
export { createHttpCacheClient } from './http-cache-client.js';
export { createHttpAuthorizeClient } from './http-authorize-client.js';
export { cacheView } from './cache-view.js';
