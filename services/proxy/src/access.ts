// The access decision for one request on a matched route: who is asking (session), may they (authorize), and
// which identity headers the upstream gets. Everything per request here is served from in-process caches when warm.
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteConfig, VallumConfig } from '@vallum/config';
import type { Identity, Reason } from '@vallum/policy';
import type { AuthorizeApi } from '@vallum/service-client';
import type { AssertionSigner } from './assertion.js';
import type { IdentityHeaders } from './director.js';
import { createIdentityHeaderBuilder, type IdentityHeaderConfig } from './identity-headers.js';
import type { SessionResolver } from './session-resolver.js';
import { policyHeaders } from './policy-request.js';

export interface AccessRequest {
  route: RouteConfig;
  /** Lower-cased Host of the request. */
  host: string;
  method: string;
  /** Normalised path. */
  path: string;
  /** The raw request target (path + query), to come back to after sign-in. */
  rawUrl: string;
  cookie: string | undefined;
  /** For header/<name> and source_ip criteria, and the decision log. */
  headers?: IncomingHttpHeaders;
  clientIp?: string | undefined;
  requestId?: string;
}

export type AccessResult =
  | { kind: 'forward'; identity?: IdentityHeaders }
  | { kind: 'sign-in'; location: string; clearCookie: boolean }
  | { kind: 'deny'; email: string; reasons: readonly Reason[] };

export interface AccessCheck {
  check(request: AccessRequest): Promise<AccessResult>;
  /** Header names clients may never send (the `jwt_claims_headers`), removed like X-Vallum-*. */
  readonly stripHeaders: ReadonlySet<string>;
}

export function createAccessCheck(deps: {
  config: Pick<VallumConfig, 'authenticateServiceUrl'> & IdentityHeaderConfig;
  authorize: AuthorizeApi;
  sessions: SessionResolver;
  assertions: AssertionSigner;
}): AccessCheck {
  const { config, authorize, sessions, assertions } = deps;
  const identityHeaders = createIdentityHeaderBuilder(config, assertions);
  const signInUrl = (route: RouteConfig, rawUrl: string) => {
    const url = new URL('/.vallum/sign_in', config.authenticateServiceUrl);
    url.searchParams.set('redirect_uri', `${route.from}${rawUrl}`);
    return url.href;
  };
  return {
    stripHeaders: identityHeaders.names,
    async check({ route, host, method, path, rawUrl, cookie, headers, clientIp, requestId }) {
      if (route.allowPublicUnauthenticatedAccess) return { kind: 'forward' };
      const session = await sessions.fromCookie(cookie);
      if (!session) return { kind: 'sign-in', location: signInUrl(route, rawUrl), clearCookie: cookie !== undefined };
      const identity: Identity = { sub: session.sub, email: session.email, groups: session.groups, claims: session.claims };
      const decision = await authorize.evaluate({
        routeId: route.id,
        identity,
        request: { method, host, path, headers: policyHeaders(headers ?? {}), ...(clientIp ? { sourceIp: clientIp } : {}) },
        ...(requestId ? { requestId } : {}),
      });
      if (!decision.allow) return { kind: 'deny', email: session.email, reasons: decision.reasons };
      if (!route.passIdentityHeaders) return { kind: 'forward' };
      return { kind: 'forward', identity: await identityHeaders.build(session, route, host) };
    },
  };
}
