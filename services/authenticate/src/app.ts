// authenticate: signs users in at the IdP (authorization code + PKCE + state + nonce), keeps their session in the
// cache, and hands the session to route hosts with a signed one-time token. Never listens by itself.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import * as oidc from 'openid-client';
import { VallumError, ErrorCodes, isVallumError } from '@vallum/errors';
import { DEFAULT_IDP_NAME, idpNamed, secretList, sessionIdp, type IdpConfig, type VallumConfig } from '@vallum/config';
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
import {
  createHandoffCodec,
  createSealedValueCodec,
  createSessionCookieCodec,
  newSessionId,
  sessionCookieOptions,
  sessionStepUpShortfall,
  type Session,
} from '@vallum/session';
import { clientOf, createOidcClients, idpUnavailableError, isIdpUnreachable, type IdpClients } from '@vallum/idp';
import { createRepeatedLog, errorFields, errorKey, type VallumMetrics } from '@vallum/telemetry';
import { registerBackchannelLogout } from './backchannel-logout.js';
import { registerAbuseLimits } from './abuse-limits.js';
import { assertSingleCallbackParams } from './callback-params.js';
import { claimsOf, identityFields } from '@vallum/idp';
import { SIGN_IN_FAILED_PAGE, signedOutPage } from './pages.js';
import { assertStepUpMet, readStepUp, requirementOf, signInFactsOf, stepUpParams, type StepUpRequest } from './step-up.js';
import { idpChooserPage, idpCookieName, readSignOutState, requestedIdps, signOutState } from './idp-choice.js';

export interface AuthenticateDeps {
  cache: CacheApi;
  /** One OIDC client per IdP (shared with readiness and the refresher); made from the config when absent. */
  idps?: IdpClients;
  logger?: boolean;
  /** Counts sign-ins and sign-outs; none when absent. */
  metrics?: VallumMetrics | undefined;
}

interface SignInState extends Record<string, unknown> {
  verifier: string;
  state: string;
  nonce: string;
  redirect: string;
  /** The route's step-up (max_age, acr_values), checked again on what the IdP answers. */
  stepUp?: StepUpRequest;
  /** The IdP the sign-in was sent to: the code is exchanged there, and the session belongs to it. */
  idp: string;
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
  const idps = deps.idps ?? createOidcClients(config);
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
  registerAbuseLimits(app, config, { callbackPath: IDP_CALLBACK_PATH, metrics: deps.metrics });
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

  /** This browser's session at one IdP (the authenticate host keeps a cookie per IdP). */
  const currentSession = async (req: FastifyRequest, idpName: string): Promise<Session | null> => {
    const value = req.cookies[idpCookieName(cookieName, idpName)];
    if (!value) return null;
    const ticket = await sessionCookies.open(value);
    if (!ticket) return null;
    const session = await cache.getSession(ticket.sid);
    return session && session.expiresAt > Date.now() && sessionIdp(session) === idpName ? session : null;
  };

  const handOff = async (reply: FastifyReply, session: Session, target: URL) => {
    const token = await handoffs.sign({ sid: session.id, audience: target.origin, redirectUri: target.href, sessionExpiresAt: session.expiresAt });
    const to = new URL('/.vallum/callback', target.origin);
    to.searchParams.set('vallum_handoff', token);
    return reply.header('cache-control', 'no-store').redirect(to.href, 302);
  };

  app.get<{ Querystring: { redirect_uri?: string; max_age?: string; acr_values?: string } }>(
    '/.vallum/sign_in',
    {
      schema: {
        querystring: { type: 'object', properties: { redirect_uri: { type: 'string' }, max_age: { type: 'string' }, acr_values: { type: 'string' } } },
      },
    },
    async (req, reply) => {
      const target = safeRedirectTarget(req.query.redirect_uri, routeOrigins);
      if (!target) {
        throw new VallumError(ErrorCodes.REDIRECT_NOT_ALLOWED, 'This sign-in link points to a site Vallum does not protect.', { status: 400 });
      }
      const choices = requestedIdps(config, new URL(req.url, base).searchParams);
      const stepUp = readStepUp(req.query);
      return startSignIn(req, reply, target, choices, stepUp).catch((err: unknown) => retryLater(req, reply, err, target.href));
    },
  );

  /**
   * A session at one of the IdPs the route accepts, recent and strong enough for its step-up, is handed over; else the
   * IdP's sign-in, or a chooser of them.
   */
  const startSignIn = async (req: FastifyRequest, reply: FastifyReply, target: URL, choices: readonly IdpConfig[], stepUp: StepUpRequest | undefined) => {
    for (const choice of choices) {
      const existing = await currentSession(req, choice.name);
      if (existing && (!stepUp || sessionStepUpShortfall(existing, requirementOf(stepUp), Date.now()) === undefined)) return handOff(reply, existing, target);
    }
    if (choices.length > 1) return sendPage(reply, 200, idpChooserPage(pagesOf(app), req.id, { base, target, idps: choices }));
    const idpConfig = choices[0]!;
    const idp = clientOf(idps, idpConfig.name);

    const configuration = await idp.configuration();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const sealed = await signInStates.seal(
      { verifier, state, nonce, redirect: target.href, idp: idpConfig.name, ...(stepUp ? { stepUp } : {}) },
      SIGN_IN_STATE_TTL_SECONDS,
    );
    reply.setCookie(stateCookieName, sealed, sessionCookieOptions(secure, SIGN_IN_STATE_TTL_SECONDS));
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: callbackUrl,
      scope: idpConfig.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(idpConfig.scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
      ...stepUpParams(stepUp),
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
    const idpName = sessionIdp(saved);
    const idp = clientOf(idps, idpName);
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
    const signIn = signInFactsOf(tokens.claims(), Date.now());
    if (saved.stepUp) {
      try {
        assertStepUpMet(saved.stepUp, signIn, Date.now());
      } catch (err) {
        deps.metrics?.signIns.inc({ result: 'refused' });
        return replyError(reply, err, { title: 'A stronger sign-in is needed', genericMessage: SIGN_IN_FAILED_PAGE.genericMessage, retryUrl });
      }
    }
    // Without userinfo, only what the ID token says is known (often no email or groups): a session of that is no
    // use while the IdP is merely down, so that is a retry; a userinfo that refuses or is missing is not.
    const claims = await claimsOf(idp, tokens, undefined, (err) => {
      if (isIdpUnreachable(err)) throw idpUnavailableError(err);
      req.log.warn({ err }, 'userinfo unavailable; using ID token claims only');
    });
    const idpSid = tokens.claims()?.sid;
    const now = Date.now();
    const session: Session = {
      id: newSessionId(),
      ...identityFields(claims, tokens),
      ...(typeof idpSid === 'string' ? { idpSid } : {}),
      idp: idpName,
      ...(config.sessionIdleTimeoutMs === undefined ? {} : { idleTimeoutMs: config.sessionIdleTimeoutMs }),
      ...signIn,
      createdAt: now,
      expiresAt: now + config.cookieExpireMs,
    };
    // No fixation: a session this browser held at this IdP before signing in is ended and the new one has a new id;
    // only a step-up of that same user upgrades it in place (upgradeSession).
    const idpCookie = idpCookieName(cookieName, idpName);
    const previous = req.cookies[idpCookie] ? await sessionCookies.open(req.cookies[idpCookie]) : null;
    const upgraded = saved.stepUp && previous ? await upgradeSession(previous.sid, session) : null;
    if (previous && !upgraded) {
      await cache.deleteSession(previous.sid);
      sessionCookies.forget(previous.sid);
    }
    if (!upgraded) await cache.putSession(session);
    const kept = upgraded ?? session;
    noteAccess(req, { user: kept.email, sid_prefix: kept.id.slice(0, 6), event: upgraded ? 'stepped-up' : 'signed-in', idp: kept.idp });
    deps.metrics?.signIns.inc({ result: 'success' });
    const cookieValue = await sessionCookies.seal({ sid: kept.id, expiresAt: kept.expiresAt });
    reply.setCookie(idpCookie, cookieValue, sessionCookieOptions(secure, (kept.expiresAt - Date.now()) / 1000));
    const target = safeRedirectTarget(saved.redirect, routeOrigins);
    if (!target) throw new VallumError(ErrorCodes.REDIRECT_NOT_ALLOWED, 'The page you came from is no longer protected by Vallum.', { status: 400 });
    return handOff(reply, kept, target);
  };

  /**
   * Step-up: the same user's session takes the new sign-in in place (same id, same lifetime), so every host it was
   * handed to keeps working. Another user's session (a planted cookie) is never upgraded: that is a new session.
   */
  const upgradeSession = async (sid: string, fresh: Session): Promise<Session | null> => {
    const current = await cache.getSession(sid);
    if (!current || current.sub !== fresh.sub) return null;
    const upgraded: Session = { ...fresh, id: current.id, createdAt: current.createdAt, expiresAt: current.expiresAt };
    return (await cache.updateSession(upgraded)) ? upgraded : null;
  };

  const signOut = async (req: FastifyRequest<{ Querystring: { redirect_uri?: string; sign_out_token?: string } }>, reply: FastifyReply) => {
    // The session to end: the one a route host named in a signed token, and the one of this host's cookie for the
    // same IdP (that named session's, else `idp=NAME`, else the default).
    const named = req.query.sign_out_token ? await handoffs.verify(req.query.sign_out_token, base.origin).catch(() => null) : null;
    const idpConfig = (named?.idp !== undefined && idpNamed(config.idps, named.idp)) || requestedIdps(config, new URL(req.url, base).searchParams)[0]!;
    const idpCookie = idpCookieName(cookieName, idpConfig.name);
    const value = req.cookies[idpCookie];
    const ticket = value ? await sessionCookies.open(value) : null;
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
    reply.clearCookie(idpCookie, sessionCookieOptions(secure));
    if (sids.size > 0) deps.metrics?.signOuts.inc({ kind: 'user' });
    const target = safeRedirectTarget(req.query.redirect_uri, routeOrigins);
    const signedOut = new URL('/.vallum/signed_out', base);
    if (target) signedOut.searchParams.set('redirect_uri', target.href);
    if (idpConfig.name !== DEFAULT_IDP_NAME) signedOut.searchParams.set('idp', idpConfig.name);
    if (idToken) {
      try {
        const configuration = await clientOf(idps, idpConfig.name).configuration();
        if (configuration.serverMetadata().end_session_endpoint) {
          // The IdP comes back the same way whether the user agreed to end its session or declined: `state` only
          // tells the signed-out page that the IdP was asked.
          const url = oidc.buildEndSessionUrl(configuration, {
            id_token_hint: idToken,
            post_logout_redirect_uri: new URL('/.vallum/signed_out', base).href,
            state: signOutState(idpConfig.name, target ? target.href : IDP_ASKED_STATE),
          });
          return reply.header('cache-control', 'no-store').redirect(url.href, 302);
        }
      } catch (err) {
        req.log.warn({ err }, 'IdP sign-out skipped');
      }
    }
    return reply.header('cache-control', 'no-store').redirect(signedOut.href, 302);
  };
  registerBackchannelLogout(app, { config, cache, idps, metrics: deps.metrics });
  // The confirmation page's form POSTs an empty urlencoded body; only sign-out accepts one here.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, _body, done) => done(null, {}));
    scope.get('/.vallum/sign_out', signOut);
    scope.post('/.vallum/sign_out', signOut);
  });

  // The IdP returns the page the user signed out from in `state`; it is validated like any redirect target.
  app.get<{ Querystring: { redirect_uri?: string; state?: string; idp?: string } }>('/.vallum/signed_out', async (req, reply) => {
    const asked = req.query.state === undefined ? undefined : readSignOutState(config, req.query.state);
    const target = safeRedirectTarget(req.query.redirect_uri ?? asked?.returnTo, routeOrigins);
    const idpAsked = asked !== undefined;
    const idp = asked?.idp ?? idpNamed(config.idps, req.query.idp ?? DEFAULT_IDP_NAME) ?? config.idp;
    return sendPage(reply, 200, signedOutPage(pagesOf(app), req.id, { returnUrl: target?.href, idpAsked, idpHost: new URL(idp.issuer).host }));
  });

  return app;
}
