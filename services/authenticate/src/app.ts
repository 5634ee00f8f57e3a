// authenticate: signs users in at the IdP (authorization code + PKCE + state + nonce), keeps their session in the
// cache, and hands the session to route hosts with a signed one-time token. Never listens by itself.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import * as oidc from 'openid-client';
import { VallumError, ErrorCodes, isVallumError } from '@vallum/errors';
import { secretList, type VallumConfig } from '@vallum/config';
import {
  createServer,
  isCrossSiteRequest,
  replyError,
  safeRedirectTarget,
  pagesOf,
  sendPage,
  sendSignOutConfirmation,
  noteAccess,
  trustedPeer,
} from '@vallum/server-kit';
import type { CacheApi } from '@vallum/service-client';
import { createHandoffCodec, createSealedValueCodec, createSessionCookieCodec, newSessionId, sessionCookieOptions, type Session } from '@vallum/session';
import { createOidcClient, idpUnavailableError, isIdpUnreachable, type OidcClient } from '@vallum/idp';
import { createRepeatedLog, errorFields, errorKey, type VallumMetrics } from '@vallum/telemetry';
import { registerBackchannelLogout } from './backchannel-logout.js';
import { registerAbuseLimits } from './abuse-limits.js';
import { assertSingleCallbackParams } from './callback-params.js';
import { claimsOf, identityFields } from '@vallum/idp';
import { SIGN_IN_FAILED_PAGE, signedOutPage } from './pages.js';

export interface AuthenticateDeps {
  cache: CacheApi;
  oidc?: OidcClient;
  logger?: boolean;
  /** Counts sign-ins and sign-outs; none when absent. */
  metrics?: VallumMetrics | undefined;
}

interface SignInState extends Record<string, unknown> {
  verifier: string;
  state: string;
  nonce: string;
  redirect: string;
}

const SIGN_IN_STATE_TTL_SECONDS = 600;
/** `state` of an RP-initiated logout with no page to return to: the signed-out page still learns the IdP was asked. */
const IDP_ASKED_STATE = 'signed-out';
export const IDP_CALLBACK_PATH = '/oauth2/callback';

export function buildApp(config: VallumConfig, deps: AuthenticateDeps): FastifyInstance {
  // Nothing authenticate accepts comes near 64 KiB; fastify's default is 1 MiB.
  const app = createServer({
    service: 'authenticate',
    logger: deps.logger,
    logLevel: config.logLevel,
    logFormat: config.logFormat,
    trustTrace: trustedPeer(config.trustedProxies),
    errors: { format: 'negotiate', ...SIGN_IN_FAILED_PAGE },
    fastify: { bodyLimit: 65_536 },
    pages: config.pages,
  });
  const { cache } = deps;
  const idp = deps.oidc ?? createOidcClient(config.idp);
  const base = config.authenticateServiceUrl;
  const callbackUrl = new URL(IDP_CALLBACK_PATH, base).href;
  const secure = config.cookieSecure ?? base.protocol === 'https:';
  const cookieName = config.cookieName;
  const stateCookieName = `${config.cookieName}_csrf`;
  const cookieSecrets = secretList(config.cookieSecret, config.previousCookieSecrets);
  const sessionCookies = createSessionCookieCodec(cookieSecrets);
  const signInStates = createSealedValueCodec<SignInState>(cookieSecrets, 'sign-in-state');
  const handoffs = createHandoffCodec(secretList(config.sharedSecret, config.previousSharedSecrets));
  const routeOrigins = new Set(config.routes.map((r) => r.from));
  const signOutOrigins = new Set([...routeOrigins, base.origin]);

  void app.register(cookie);
  registerAbuseLimits(app, config, IDP_CALLBACK_PATH);
  // The IdP or the store down fails every sign-in alike: written once per interval with a count.
  const failures = createRepeatedLog(app.log);
  app.addHook('onClose', async () => failures.close());

  /**
   * An IdP or store failure at any step of a sign-in (discovery, code exchange, userinfo, the session store): the
   * 503 page, with Retry-After and a way back to the page the user wanted, which starts the sign-in again.
   */
  const retryLater = (req: FastifyRequest, reply: FastifyReply, err: unknown, retryUrl: string | undefined) => {
    if (!isVallumError(err) || err.status !== 503) throw err;
    failures.write('warn', `sign-in:${errorKey(err)}`, { reqId: req.id, ...errorFields(err) }, 'sign-in interrupted; the user is asked to try again');
    return replyError(reply, err, { ...SIGN_IN_FAILED_PAGE, retryUrl });
  };

  const currentSession = async (req: FastifyRequest): Promise<Session | null> => {
    const value = req.cookies[cookieName];
    if (!value) return null;
    const ticket = await sessionCookies.open(value);
    if (!ticket) return null;
    const session = await cache.getSession(ticket.sid);
    return session && session.expiresAt > Date.now() ? session : null;
  };

  const handOff = async (reply: FastifyReply, session: Session, target: URL) => {
    const token = await handoffs.sign({ sid: session.id, audience: target.origin, redirectUri: target.href, sessionExpiresAt: session.expiresAt });
    const to = new URL('/.vallum/callback', target.origin);
    to.searchParams.set('vallum_handoff', token);
    return reply.header('cache-control', 'no-store').redirect(to.href, 302);
  };

  app.get<{ Querystring: { redirect_uri?: string } }>(
    '/.vallum/sign_in',
    { schema: { querystring: { type: 'object', properties: { redirect_uri: { type: 'string' } } } } },
    async (req, reply) => {
      const target = safeRedirectTarget(req.query.redirect_uri, routeOrigins);
      if (!target) {
        throw new VallumError(ErrorCodes.REDIRECT_NOT_ALLOWED, 'This sign-in link points to a site Vallum does not protect.', { status: 400 });
      }
      return startSignIn(req, reply, target).catch((err: unknown) => retryLater(req, reply, err, target.href));
    },
  );

  const startSignIn = async (req: FastifyRequest, reply: FastifyReply, target: URL) => {
    const existing = await currentSession(req);
    if (existing) return handOff(reply, existing, target);

    const configuration = await idp.configuration();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const sealed = await signInStates.seal({ verifier, state, nonce, redirect: target.href }, SIGN_IN_STATE_TTL_SECONDS);
    reply.setCookie(stateCookieName, sealed, sessionCookieOptions(secure, SIGN_IN_STATE_TTL_SECONDS));
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: callbackUrl,
      scope: config.idp.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(config.idp.scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
    });
    return reply.header('cache-control', 'no-store').redirect(url.href, 302);
  };

  app.get<{ Querystring: Record<string, string> }>(IDP_CALLBACK_PATH, async (req, reply) => {
    const sealed = req.cookies[stateCookieName];
    const saved = sealed ? await signInStates.open(sealed) : null;
    reply.clearCookie(stateCookieName, sessionCookieOptions(secure));
    assertSingleCallbackParams(new URL(req.url, base).searchParams);
    if (!saved) {
      deps.metrics?.signIns.inc({ result: 'failed' });
      throw new VallumError(ErrorCodes.SIGN_IN_FAILED, 'Your sign-in took too long or was started in another browser. Please start again.', { status: 400 });
    }
    // Checked again as the success path does: after a reload the target may no longer be a route.
    const retryUrl = safeRedirectTarget(saved.redirect, routeOrigins)?.href;
    // RFC 6749 §4.1.2.1: the IdP's own trouble, not a refusal.
    if (req.query.error === 'temporarily_unavailable' || req.query.error === 'server_error') {
      return retryLater(req, reply, idpUnavailableError(new Error(`the IdP answered ${req.query.error}`)), retryUrl);
    }
    if (req.query.error) {
      const description = req.query.error_description ? `: ${req.query.error_description}` : '';
      const refused = new VallumError(ErrorCodes.SIGN_IN_FAILED, `The identity provider refused the sign-in (${req.query.error}${description}).`, {
        status: 400,
      });
      deps.metrics?.signIns.inc({ result: 'refused' });
      return replyError(reply, refused, { ...SIGN_IN_FAILED_PAGE, retryUrl });
    }
    return completeSignIn(req, reply, saved).catch((err: unknown) => retryLater(req, reply, err, retryUrl));
  });

  const completeSignIn = async (req: FastifyRequest<{ Querystring: Record<string, string> }>, reply: FastifyReply, saved: SignInState) => {
    const retryUrl = safeRedirectTarget(saved.redirect, routeOrigins)?.href;
    const configuration = await idp.configuration();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, new URL(req.url, base), {
        pkceCodeVerifier: saved.verifier,
        expectedState: saved.state,
        expectedNonce: saved.nonce,
        idTokenExpected: true,
      });
    } catch (cause) {
      deps.metrics?.signIns.inc({ result: 'failed' });
      if (isIdpUnreachable(cause)) throw idpUnavailableError(cause);
      failures.write('warn', `code-exchange:${errorKey(cause)}`, { reqId: req.id, ...errorFields(cause) }, 'code exchange failed');
      const unverified = new VallumError(ErrorCodes.SIGN_IN_FAILED, 'The sign-in response could not be verified. Please try again.', { status: 400 });
      return replyError(reply, unverified, { ...SIGN_IN_FAILED_PAGE, retryUrl });
    }
    // Without userinfo, only what the ID token says is known (often no email or groups): a session of that is no
    // use while the IdP is merely down, so that is a retry; a userinfo that refuses or is missing is not.
    const claims = await claimsOf(configuration, tokens, undefined, (err) => {
      if (isIdpUnreachable(err)) throw idpUnavailableError(err);
      req.log.warn({ err }, 'userinfo unavailable; using ID token claims only');
    });
    const idpSid = tokens.claims()?.sid;
    const now = Date.now();
    const session: Session = {
      id: newSessionId(),
      ...identityFields(claims, tokens),
      ...(typeof idpSid === 'string' ? { idpSid } : {}),
      ...(config.sessionIdleTimeoutMs === undefined ? {} : { idleTimeoutMs: config.sessionIdleTimeoutMs }),
      createdAt: now,
      expiresAt: now + config.cookieExpireMs,
    };
    // No fixation: a session this browser held before signing in is ended, never upgraded; the new one has a new id.
    const previous = req.cookies[cookieName] ? await sessionCookies.open(req.cookies[cookieName]) : null;
    if (previous) {
      await cache.deleteSession(previous.sid);
      sessionCookies.forget(previous.sid);
    }
    await cache.putSession(session);
    noteAccess(req, { user: session.email, sid_prefix: session.id.slice(0, 6), event: 'signed-in' });
    deps.metrics?.signIns.inc({ result: 'success' });
    const cookieValue = await sessionCookies.seal({ sid: session.id, expiresAt: session.expiresAt });
    reply.setCookie(cookieName, cookieValue, sessionCookieOptions(secure, config.cookieExpireMs / 1000));
    const target = safeRedirectTarget(saved.redirect, routeOrigins);
    if (!target) throw new VallumError(ErrorCodes.REDIRECT_NOT_ALLOWED, 'The page you came from is no longer protected by Vallum.', { status: 400 });
    return handOff(reply, session, target);
  };

  const signOut = async (req: FastifyRequest<{ Querystring: { redirect_uri?: string; sign_out_token?: string } }>, reply: FastifyReply) => {
    // The session to end: the one of this host's cookie, and the one a route host named in a signed token.
    const value = req.cookies[cookieName];
    const ticket = value ? await sessionCookies.open(value) : null;
    const named = req.query.sign_out_token ? await handoffs.verify(req.query.sign_out_token, base.origin).catch(() => null) : null;
    // A route host checked where its sign-out came from before it signed the token, so the hop from it (cross-site
    // when route hosts and authenticate are different sites) needs no confirmation, unless this cookie names
    // another session than the token (someone else's token, replayed at this browser).
    const vouched = named !== null && (ticket === null || ticket.sid === named.sid);
    if (!vouched && isCrossSiteRequest(req.headers, signOutOrigins)) {
      const query = new URL(req.url, base).search;
      return sendSignOutConfirmation(reply, { action: `/.vallum/sign_out${query}`, requestId: req.id });
    }
    const sids = new Set<string>();
    if (ticket) sids.add(ticket.sid);
    if (named) sids.add(named.sid);
    let idToken: string | undefined;
    for (const sid of sids) {
      const session = await cache.getSession(sid);
      const kept = await cache.takeEndedIdToken(sid);
      idToken = session?.idToken ?? kept ?? idToken;
      await cache.deleteSession(sid);
      sessionCookies.forget(sid);
    }
    reply.clearCookie(cookieName, sessionCookieOptions(secure));
    if (sids.size > 0) deps.metrics?.signOuts.inc({ kind: 'user' });
    const target = safeRedirectTarget(req.query.redirect_uri, routeOrigins);
    const signedOut = new URL('/.vallum/signed_out', base);
    if (target) signedOut.searchParams.set('redirect_uri', target.href);
    if (idToken) {
      try {
        const configuration = await idp.configuration();
        if (configuration.serverMetadata().end_session_endpoint) {
          // The IdP comes back the same way whether the user agreed to end its session or declined: `state` only
          // tells the signed-out page that the IdP was asked.
          const url = oidc.buildEndSessionUrl(configuration, {
            id_token_hint: idToken,
            post_logout_redirect_uri: new URL('/.vallum/signed_out', base).href,
            state: target ? target.href : IDP_ASKED_STATE,
          });
          return reply.header('cache-control', 'no-store').redirect(url.href, 302);
        }
      } catch (err) {
        req.log.warn({ err }, 'IdP sign-out skipped');
      }
    }
    return reply.header('cache-control', 'no-store').redirect(signedOut.href, 302);
  };
  registerBackchannelLogout(app, { config, cache, idp, metrics: deps.metrics });
  // The confirmation page's form POSTs an empty urlencoded body; only sign-out accepts one here.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, _body, done) => done(null, {}));
    scope.get('/.vallum/sign_out', signOut);
    scope.post('/.vallum/sign_out', signOut);
  });

  // The IdP returns the page the user signed out from in `state`; it is validated like any redirect target.
  app.get<{ Querystring: { redirect_uri?: string; state?: string } }>('/.vallum/signed_out', async (req, reply) => {
    const target = safeRedirectTarget(req.query.redirect_uri ?? req.query.state, routeOrigins);
    const idpAsked = req.query.state !== undefined;
    return sendPage(reply, 200, signedOutPage(pagesOf(app), req.id, { returnUrl: target?.href, idpAsked, idpHost: new URL(config.idp.issuer).host }));
  });

  return app;
}
