// Vallum's own pages on every route host: the JWKS, the end of the sign-in hand-off, and sign-out.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { VallumError, ErrorCodes } from '@vallum/errors';
import type { RouteConfig, VallumConfig } from '@vallum/config';
import { isCrossSiteRequest, replyError, sendSignOutConfirmation } from '@vallum/server-kit';
import type { CacheViewApi } from '@vallum/service-client';
import { HANDOFF_TTL_SECONDS, sessionCookieOptions, type HandoffCodec, type SessionCookieCodec } from '@vallum/session';
import type { AssertionSigner } from './assertion.js';
import type { AccessCheck } from './access.js';
import type { PostKeeper } from './preserve-post.js';
import { registerCliLogin } from './cli-login.js';
import { registerAdminApi } from './admin-api.js';
import { registerForwardAuth } from './forward-auth.js';
import { registerUserPage } from './user-page.js';
import { noRouteError } from './refusal-errors.js';
import type { RouteTable } from './route-table.js';
import type { SessionResolver } from './session-resolver.js';
import { requestCookie } from './request-cookie.js';
import { clearedPostCookie } from './preserve-post.js';
import { sendPostReplay } from './post-replay-page.js';

/** How long a signed-out session's ID token is kept for authenticate's RP-initiated logout at the IdP. */
const ENDED_SESSION_KEEP_SECONDS = HANDOFF_TTL_SECONDS * 2;

export interface SessionRoutesDeps {
  config: VallumConfig;
  cache: CacheViewApi;
  routes: RouteTable;
  cookies: SessionCookieCodec;
  handoffs: HandoffCodec;
  sessions: SessionResolver;
  assertions: AssertionSigner;
  access: AccessCheck;
  posts: PostKeeper;
}

export function cookieSecure(config: Pick<VallumConfig, 'cookieSecure'>, route: RouteConfig | undefined): boolean {
  return config.cookieSecure ?? route?.scheme === 'https';
}

export function registerSessionRoutes(app: FastifyInstance, deps: SessionRoutesDeps): void {
  const { config, cache, routes, cookies, handoffs, sessions, assertions, posts } = deps;
  const hostOf = (req: FastifyRequest) => (req.headers.host ?? '').toLowerCase();
  const routeForHost = (host: string) => routes.match(host, '/') ?? config.routes.find((r) => r.host === host);
  registerCliLogin(app, { config, sessions, routeForHost });
  registerForwardAuth(app, { config, routes, access: deps.access });
  registerUserPage(app, { config, sessions, access: deps.access, routeForHost });
  registerAdminApi(app, { config, cache, access: deps.access });

  app.get('/.well-known/vallum/jwks.json', async (_req, reply) => {
    return reply.header('cache-control', 'public, max-age=300').send(assertions.jwks());
  });

  // The route host's end of the sign-in hand-off: verify, burn the one-time id, set this host's cookie.
  app.get<{ Querystring: { vallum_handoff?: string } }>('/.vallum/callback', async (req, reply) => {
    const host = hostOf(req);
    const route = routeForHost(host);
    if (!route) return replyError(reply, noRouteError(host));
    const handoff = await handoffs.verify(req.query.vallum_handoff ?? '', route.from);
    if (!(await cache.claimOnce(`handoff:${handoff.jti}`, HANDOFF_TTL_SECONDS * 2))) {
      throw new VallumError(ErrorCodes.HANDOFF_INVALID, 'This sign-in link was already used. Please open the application again.', { status: 400 });
    }
    const session = await cache.getSession(handoff.sid);
    if (!session) throw new VallumError(ErrorCodes.SESSION_NOT_FOUND, 'Your session has ended. Please sign in again.', { status: 400 });
    const target = new URL(handoff.redirectUri);
    if (target.origin !== route.from) throw new VallumError(ErrorCodes.REDIRECT_NOT_ALLOWED, 'Invalid return address.', { status: 400 });
    // A step-up keeps the session's id: the copy this proxy holds may predate it.
    sessions.forget(session.id);
    const value = await cookies.seal({ sid: session.id, expiresAt: session.expiresAt });
    reply.setCookie(config.cookieName, value, sessionCookieOptions(cookieSecure(config, route), (session.expiresAt - Date.now()) / 1000));
    // A form post this browser sent while signed out is sent again now, once.
    const post = await posts.take(req.headers.cookie, target);
    if (post) return sendPostReplay(reply, config.pages, post, clearedPostCookie(posts, cookieSecure(config, route)));
    return reply.header('cache-control', 'no-store').redirect(target.href, 302);
  });

  const signOut = async (req: FastifyRequest, reply: FastifyReply) => {
    const route = routeForHost(hostOf(req));
    const trusted = new Set([...config.routes.map((r) => r.from), config.authenticateServiceUrl.origin]);
    if (isCrossSiteRequest(req.headers, trusted)) return sendSignOutConfirmation(reply, { action: '/.vallum/sign_out', requestId: req.id });
    const value = requestCookie(req.headers.cookie, config.cookieName);
    const ticket = value ? await cookies.open(value) : null;
    const next = new URL('/.vallum/sign_out', config.authenticateServiceUrl);
    if (route) next.searchParams.set('redirect_uri', `${route.from}/`);
    if (ticket) {
      // The IdP that made it, read before it ends: authenticate signs out there (and ends its own cookie of that IdP).
      const idp = (await sessions.fromSid(ticket.sid).catch(() => null))?.idp;
      // Ended in the store before answering: a client that never follows the redirect holds a dead cookie, and every
      // proxy drops its copy on the change event. Only the ID token is kept, briefly, for the IdP's id_token_hint.
      await cache.endSession(ticket.sid, ENDED_SESSION_KEEP_SECONDS);
      sessions.forget(ticket.sid);
      assertions.forget(ticket.sid);
      // authenticate signs the user out at the IdP, and ends its own cookie's session, when told which one in a
      // signed token only authenticate accepts.
      const token = await handoffs.sign({
        sid: ticket.sid,
        audience: config.authenticateServiceUrl.origin,
        redirectUri: route ? `${route.from}/` : config.authenticateServiceUrl.href,
        sessionExpiresAt: ticket.expiresAt,
        idp,
      });
      next.searchParams.set('sign_out_token', token);
    }
    reply.clearCookie(config.cookieName, sessionCookieOptions(cookieSecure(config, route)));
    return reply.header('cache-control', 'no-store').redirect(next.href, 302);
  };
  app.get('/.vallum/sign_out', signOut);
  app.post('/.vallum/sign_out', signOut);
}
