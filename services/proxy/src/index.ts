export { buildApp, type ProxyDeps } from './app.js';
export { normalizePath, splitPathAndQuery } from './normalize-path.js';
export { createRouteTable, type RouteTable } from './route-table.js';
export { upstreamRequestHeaders, downstreamResponseHeaders } from './director.js';
export { createAssertionSigner, type AssertionSigner } from './assertion.js';
export { upstreamPath } from './upstream-path.js';
export { createAccessCheck, type AccessCheck, type AccessRequest, type AccessResult } from './access.js';
export { createSessionResolver, type SessionResolver } from './session-resolver.js';
export { adminPolicyCheck } from './admin-api.js';
