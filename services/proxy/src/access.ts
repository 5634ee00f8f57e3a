// The access decision for one request on a matched route: who is asking (session), may they (authorize), and
// which identity headers the upstream gets. Everything per request here is served from in-process caches when warm.
import type { IncomingHttpHeaders } from 'node:http';
import { acceptsIdp, DEFAULT_IDP_NAME, type RouteConfig, type VallumConfig } from '@vallum/config';
import { ErrorCodes, VallumError } from '@vallum/errors';
import { ReasonCodes, type ClientCertificateInfo, type Decision, type Identity, type Reason, type RequestInfo } from '@vallum/policy';
import type { AuthorizeApi, AuthorizeRequest, CacheViewApi } from '@vallum/service-client';
import { sessionStepUpShortfall, signInTime, type HotPathCounters, type SessionView, type StepUpShortfall } from '@vallum/session';
import type { AssertionSigner } from './assertion.js';
import { bearerToken, createBearerAuth } from './bearer.js';
import { createConnectionWatch, type Closable, type ConnectionWatch, type WatchedRequest } from './connection-watch.js';
import type { IdentityHeaders } from './director.js';
import { createIdentityHeaderBuilder, type IdentityHeaderConfig } from './identity-headers.js';
import type { SessionResolver } from './session-resolver.js';
import { policyHeaders } from './policy-request.js';
import { decideEveryPath, peekEveryPath } from './decide-every-path.js';

export interface AccessRequest {
  route: RouteConfig;
  /** Lower-cased Host of the request. */
  host: string;
  method: string;
  /** Normalised path. */
  path: string;
  /** Other readings of `path` a back end may apply (path-interpretations.ts): the policy must allow each. */
  otherPaths?: readonly string[];
  /** The raw request target (path + query), to come back to after sign-in. */
  rawUrl: string;
  cookie: string | undefined;
  /** For header/<name> and source_ip criteria, and the decision log. */
  headers?: IncomingHttpHeaders;
  clientIp?: string | undefined;
  /** The peer is a trusted proxy: the policy may read its forwarding headers. */
  trustedPeer?: boolean;
  requestId?: string;
  /** Vallum's traceparent for this request, for the authorize service over HTTP. */
  traceparent?: string;
  /** The Authorization header, for bearer tokens when there is no session cookie. */
  authorization?: string;
  /** The connection's verified client certificate (downstream_mtls), for `client_certificate` criteria. */
  clientCertificate?: ClientCertificateInfo | undefined;
}

export type AccessResult =
  | {
      kind: 'forward';
      identity?: IdentityHeaders;
      /** The request was let in by a Vallum-issued bearer token: a Vallum credential the app must never see. */
      dropAuthorization?: boolean;
      /**
       * What to keep re-checking while the response (or upgraded socket) is open, given to AccessCheck.watch: long-lived
       * connections obey revocation. Data, not a closure: one object per request.
       */
      watched?: WatchedRequest;
      /** Who was let in (the session's subject), for per-user rate limits; absent on public routes. */
      user?: string;
      /** Who was let in, for the access log; absent on public routes. */
      email?: string;
      /** Let in only because the route's policy does not enforce (shadow mode): the policy would deny, for `reasons`. */
      shadow?: boolean;
      reasons?: readonly Reason[];
      /** A CORS preflight let through without a session (cors-preflight.ts). */
      preflight?: boolean;
    }
  | { kind: 'sign-in'; location: string; clearCookie: boolean }
  | { kind: 'deny'; email: string; reasons: readonly Reason[] }
  /** An error Vallum answers with itself (401 for a bad bearer token), rendered by the one error renderer. */
  | { kind: 'respond'; error: VallumError };

export interface AccessCheck {
  /**
   * The answer from in-process copies alone (memoised cookie, session, decision and assertion); undefined when
   * something must be fetched, decrypted or signed, which `check` then does. Starts no work of its own.
   */
  tryCheck(request: AccessRequest): AccessResult | undefined;
  /** The answer, fetching, decrypting and signing what the in-process copies do not hold. */
  check(request: AccessRequest): Promise<AccessResult>;
  close(): void;
  /**
   * The caller's session from the cookie, else from a bearer token ('invalid-token' when one is sent but refused);
   * a workload token counts only for a route (`routeId`) that allows its issuer.
   */
  identify(cookie: string | undefined, authorization: string | undefined, routeId?: string): Promise<SessionView | null | 'invalid-token'>;
  /** Whether this session may open the route's start page (for the user page). */
  mayOpen(session: SessionView, route: RouteConfig): Promise<boolean>;
  /** The policy's view of a session (one object per session copy). */
  identityOf(session: SessionView): Identity;
  /** Keeps re-checking `res` while it is open, when the result was let in by a session (`watched`). */
  watch(res: Closable, result: { watched?: WatchedRequest | undefined }): void;
  /** Header names clients may never send (the `jwt_claims_headers`, the client certificate's), removed like X-Vallum-*. */
  readonly stripHeaders: ReadonlySet<string>;
}

const PUBLIC: AccessResult = Object.freeze({ kind: 'forward' });
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const NO_PATHS: readonly string[] = Object.freeze([]);

/**
 * A Vallum-issued token is Vallum's credential, and a workload token is meant for Vallum (its audience): the app
 * never sees either. An IdP's own token is the app's too.
 */
const dropsToken = (session: SessionView) => session.claims.via !== 'idp-token';

/** A workload token is let in by the route's `allow_jwt_issuers`; any other token by the route's IdPs. */
const tokenAccepted = (route: RouteConfig, session: SessionView) => session.claims.via === 'jwt-issuer' || acceptsIdp(route, session);

/** `max_age` (whole seconds, rounded up) and `acr_values` on the sign-in link of a route that asks for a step-up. */
function addStepUpParams(url: URL, route: RouteConfig): void {
  if (route.maxSessionAgeMs !== undefined) url.searchParams.set('max_age', String(Math.ceil(route.maxSessionAgeMs / 1000)));
  if (route.acrValues !== undefined) url.searchParams.set('acr_values', route.acrValues.join(' '));
}

/** Why a bearer token is refused on a route with max_session_age or acr_values that it does not meet. */
const STEP_UP_REASONS: Readonly<Record<StepUpShortfall, Reason>> = Object.freeze({
  'max-age': Object.freeze({ code: ReasonCodes.AUTH_AGE_UNAUTHORIZED, message: 'requires a recent sign-in, which a bearer token cannot make' }),
  acr: Object.freeze({ code: ReasonCodes.ACR_UNAUTHORIZED, message: 'requires a stronger sign-in, which a bearer token cannot make' }),
});

const UNAUTHORIZED: AccessResult = Object.freeze({
  kind: 'respond',
  error: new VallumError(ErrorCodes.UNAUTHORIZED, 'The bearer token is not valid, or has expired.', {
    status: 401,
    details: { headers: { 'www-authenticate': 'Bearer realm="vallum", error="invalid_token"' } },
  }),
});

export function createAccessCheck(deps: {
  config: Pick<VallumConfig, 'authenticateServiceUrl' | 'idp' | 'sharedSecret' | 'serviceAccountMaxLifetimeMs'> &
    Partial<Pick<VallumConfig, 'previousSharedSecrets' | 'jwtIssuers' | 'routes' | 'downstreamMtls'>> &
    IdentityHeaderConfig;
  authorize: AuthorizeApi;
  sessions: SessionResolver;
  /** The deny list of revoked service-account tokens. */
  cache: Pick<CacheViewApi, 'isApiTokenRevoked'>;
  assertions: AssertionSigner;
  /** Shared across reloads by the process; the access check makes one of its own when none is given. */
  connections?: ConnectionWatch;
  counters?: HotPathCounters;
}): AccessCheck {
  const { config, authorize, sessions, assertions } = deps;
  const identityHeaders = createIdentityHeaderBuilder(config, assertions);
  const bearer = createBearerAuth({ config, sessions, cache: deps.cache, counters: deps.counters });
  const signInUrl = (route: RouteConfig, rawUrl: string) => {
    const url = new URL('/.vallum/sign_in', config.authenticateServiceUrl);
    url.searchParams.set('redirect_uri', `${route.from}${rawUrl}`);
    addStepUpParams(url, route);
    // Which IdPs may sign in for this route (several: authenticate lets the user choose).
    if (route.idps.length !== 1 || route.idps[0] !== DEFAULT_IDP_NAME) for (const idp of route.idps) url.searchParams.append('idp', idp);
    return url.href;
  };
  /** A session of another IdP than the route accepts: sign in at one it accepts (the hand-off then replaces the cookie). */
  const signInElsewhere = (r: AccessRequest): AccessResult => ({ kind: 'sign-in', location: signInUrl(r.route, r.rawUrl), clearCookie: false });
  /** Step-up: a session too old or too weak for the route signs in again, with the route's requirement; the session stays. */
  const stepUp = (r: AccessRequest, session: SessionView): AccessResult | undefined => {
    if (r.route.maxSessionAgeMs === undefined && r.route.acrValues === undefined) return undefined;
    if (sessionStepUpShortfall(session, r.route, Date.now()) === undefined) return undefined;
    return { kind: 'sign-in', location: signInUrl(r.route, r.rawUrl), clearCookie: false };
  };
  const identify = async (cookie: string | undefined, authorization: string | undefined, routeId?: string) => {
    const session = await sessions.fromCookie(cookie);
    const token = bearerToken(authorization);
    if (session || !token) return session;
    return (await bearer.identify(token, routeId)) ?? 'invalid-token';
  };
  const identities = new WeakMap<SessionView, Identity>();
  /** The policy's view of a session, one object per session copy. */
  const identityOf = (session: SessionView): Identity => {
    let identity = identities.get(session);
    if (!identity) {
      identity = { sub: session.sub, email: session.email, groups: session.groups, claims: session.claims, authTime: signInTime(session) };
      if (session.acr !== undefined) identity.acr = session.acr;
      identities.set(session, identity);
    }
    return identity;
  };
  // Headers go to the policy only when it reads them (header/<name> criteria): building the set costs per request.
  const decisionInput = (r: AccessRequest, session: SessionView): AuthorizeRequest => {
    const request: RequestInfo = {
      method: r.method,
      host: r.host,
      path: r.path,
      headers: authorize.readsHeaders?.(r.route.id) === false ? NO_HEADERS : policyHeaders(r.headers ?? NO_HEADERS, r.trustedPeer === true),
    };
    if (r.clientIp) request.sourceIp = r.clientIp;
    if (r.clientCertificate) request.clientCertificate = r.clientCertificate;
    const input: AuthorizeRequest = { routeId: r.route.id, identity: identityOf(session), request };
    if (r.requestId) input.requestId = r.requestId;
    if (r.traceparent) input.traceparent = r.traceparent;
    return input;
  };
  /** The answer once the session is known, from in-process copies alone; undefined when something must wait. */
  const peekAfterSession = (r: AccessRequest, session: SessionView, dropAuthorization = false): AccessResult | undefined => {
    const input = decisionInput(r, session);
    const decision = peekEveryPath(authorize, input, r.otherPaths ?? NO_PATHS);
    if (decision === undefined) return undefined;
    if (!decision.allow) return denied(session, decision);
    if (!r.route.passIdentityHeaders) return allowed(r, session, input, undefined, dropAuthorization, decision);
    const identity = identityHeaders.peek(session, r.route, r.host);
    return identity && allowed(r, session, input, identity, dropAuthorization, decision);
  };
  const afterSession = async (r: AccessRequest, session: SessionView, dropAuthorization: boolean): Promise<AccessResult> => {
    const input = decisionInput(r, session);
    const decision = await decideEveryPath(authorize, input, r.otherPaths ?? NO_PATHS);
    if (!decision.allow) return denied(session, decision);
    if (!r.route.passIdentityHeaders) return allowed(r, session, input, undefined, dropAuthorization, decision);
    const identity = identityHeaders.peek(session, r.route, r.host) ?? (await identityHeaders.build(session, r.route, r.host));
    return allowed(r, session, input, identity, dropAuthorization, decision);
  };
  const denied = (session: SessionView, decision: Decision): AccessResult => ({ kind: 'deny', email: session.email, reasons: decision.reasons });
  const allowed = (
    r: AccessRequest,
    session: SessionView,
    input: AuthorizeRequest,
    identity: IdentityHeaders | undefined,
    dropAuthorization: boolean,
    decision: Decision,
  ): AccessResult => {
    const { route, cookie, authorization, method, host, path, otherPaths, clientIp, clientCertificate } = r;
    const watched: WatchedRequest = {
      session,
      cookie,
      authorization,
      routeId: route.id,
      method,
      host,
      path,
      otherPaths,
      headers: input.request.headers ?? NO_HEADERS,
      sourceIp: clientIp,
      clientCertificate,
    };
    const user = session.sub || session.email;
    if (decision.shadow)
      return { kind: 'forward', identity, watched, dropAuthorization, user, email: session.email || session.sub, shadow: true, reasons: decision.reasons };
    return { kind: 'forward', identity, watched, dropAuthorization, user, email: session.email || session.sub };
  };
  /** The session from the cookie (in-process or read), else a bearer token, else sign in. */
  const check = async (r: AccessRequest): Promise<AccessResult> => {
    if (r.route.allowPublicUnauthenticatedAccess) return PUBLIC;
    const fromCookie = sessions.peek(r.cookie) || (await sessions.fromCookie(r.cookie));
    if (fromCookie) return acceptsIdp(r.route, fromCookie) ? (stepUp(r, fromCookie) ?? afterSession(r, fromCookie, false)) : signInElsewhere(r);
    const token = bearerToken(r.authorization);
    if (!token) return { kind: 'sign-in', location: signInUrl(r.route, r.rawUrl), clearCookie: r.cookie !== undefined };
    const viaToken = await bearer.identify(token, r.route.id);
    if (!viaToken || !tokenAccepted(r.route, viaToken)) return UNAUTHORIZED;
    // A bearer token cannot sign in again: one too old or too weak for the route is refused.
    const shortfall = sessionStepUpShortfall(viaToken, r.route, Date.now());
    if (shortfall !== undefined) return { kind: 'deny', email: viaToken.email, reasons: [STEP_UP_REASONS[shortfall]] };
    return afterSession(r, viaToken, dropsToken(viaToken));
  };
  const connections = deps.connections ?? createConnectionWatch();
  sessions.onChange((sid) => connections.recheck(sid));
  // The same question as when the connection was let in, asked of this app's session view and policy.
  connections.useCheck(async (w) => {
    const now = await identify(w.cookie, w.authorization, w.routeId);
    if (!now || now === 'invalid-token' || now.id !== w.session.id || now.expiresAt <= Date.now()) return false;
    const request = {
      method: w.method,
      host: w.host,
      headers: w.headers,
      ...(w.sourceIp ? { sourceIp: w.sourceIp } : {}),
      ...(w.clientCertificate ? { clientCertificate: w.clientCertificate } : {}),
    };
    const paths = [w.path, ...(w.otherPaths ?? NO_PATHS)];
    const decisions = await Promise.all(
      paths.map((path) => authorize.evaluate({ routeId: w.routeId, identity: identityOf(now), request: { ...request, path } })),
    );
    return decisions.every((d) => d.allow);
  });
  return {
    stripHeaders: config.downstreamMtls ? new Set([...identityHeaders.names, config.downstreamMtls.fingerprintHeader]) : identityHeaders.names,
    identify,
    identityOf,
    watch: (res, result) => {
      if (result.watched !== undefined) connections.watch(res, result.watched);
    },
    close: () => {
      if (!deps.connections) connections.close();
    },
    async mayOpen(session, route) {
      if (route.allowPublicUnauthenticatedAccess) return true;
      if (!acceptsIdp(route, session)) return false;
      const decision = await authorize.evaluate({
        routeId: route.id,
        identity: identityOf(session),
        request: { method: 'GET', host: route.host, path: route.prefix },
      });
      return decision.allow;
    },
    tryCheck(r) {
      if (r.route.allowPublicUnauthenticatedAccess) return PUBLIC;
      const session = sessions.peek(r.cookie);
      if (session) return acceptsIdp(r.route, session) ? (stepUp(r, session) ?? peekAfterSession(r, session)) : signInElsewhere(r);
      // A memoised bearer token, when there is no cookie to go first (a refused one is answered by `check`).
      const token = r.cookie === undefined ? bearerToken(r.authorization) : undefined;
      const viaToken = token === undefined ? undefined : bearer.peek(token, r.route.id);
      if (!viaToken || !tokenAccepted(r.route, viaToken) || sessionStepUpShortfall(viaToken, r.route, Date.now()) !== undefined) return undefined;
      return peekAfterSession(r, viaToken, dropsToken(viaToken));
    },
    check,
  };
}
