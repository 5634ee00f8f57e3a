// The command-line login, like `pomerium-cli`: a tool listening on a loopback port opens
// /.vallum/api/v1/login?redirect_uri=http://127.0.0.1:PORT/ in the browser; once the user is signed in, the browser
// is sent to that listener with a Vallum token naming the session. Only loopback listeners ever get a token, and
// only once the user has said yes on a confirmation page whose button POSTs from this very origin: a page elsewhere
// that opens the login URL (or frames it) cannot make the browser hand a token to whatever listens on that port.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { secretList, type RouteConfig, type VallumConfig } from '@vallum/config';
import { ErrorCodes, VallumError } from '@vallum/errors';
import type { PageSet } from '@vallum/server-kit';
import { pagesOf, replyError, sendPage } from '@vallum/server-kit';
import { createApiTokenCodec } from '@vallum/session';
import { noRouteError } from './refusal-errors.js';
import type { SessionResolver } from './session-resolver.js';
import { requestCookie } from './request-cookie.js';

export const CLI_LOGIN_PATH = '/.vallum/api/v1/login';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** A loopback http URL with an explicit port, or null. */
export function loopbackTarget(value: string | undefined): URL | null {
  if (!value || !URL.canParse(value)) return null;
  const url = new URL(value);
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname) && url.port !== '' && !url.username && !url.password ? url : null;
}

/** A POST from a page of this route's own origin: its Origin header, or Sec-Fetch-Site when a browser sends no Origin. */
export function sameOrigin(headers: { origin?: string | string[] | undefined; 'sec-fetch-site'?: string | string[] | undefined }, routeFrom: string): boolean {
  const origin = headers.origin;
  if (typeof origin === 'string' && origin !== 'null') return URL.canParse(origin) && new URL(origin).origin === new URL(routeFrom).origin;
  return origin === undefined && headers['sec-fetch-site'] === 'same-origin';
}

function confirmPage(pages: PageSet, input: { email: string; target: URL; action: string; requestId: string }): string {
  return pages.render(
    'cli-login-confirm',
    { title: 'Hand a token to a program?', requestId: input.requestId },
    { user: input.email, listener: `${input.target.hostname}:${input.target.port}`, action: input.action, declineAction: `${input.action}&decline=1` },
  );
}

export function registerCliLogin(
  app: FastifyInstance,
  deps: { config: VallumConfig; sessions: SessionResolver; routeForHost(host: string): RouteConfig | undefined },
): void {
  const { config, sessions } = deps;
  const tokens = createApiTokenCodec(secretList(config.sharedSecret, config.previousSharedSecrets));
  type Query = { redirect_uri?: string; decline?: string };
  const handler = async (req: FastifyRequest<{ Querystring: Query }>, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    reply.header('content-security-policy', "frame-ancestors 'none'").header('x-frame-options', 'DENY');
    const host = (req.headers.host ?? '').toLowerCase();
    const route = deps.routeForHost(host);
    if (!route) return replyError(reply, noRouteError(host));
    const target = loopbackTarget(req.query.redirect_uri);
    if (!target) {
      return replyError(
        reply,
        new VallumError(ErrorCodes.BAD_REQUEST, 'The command-line login only hands tokens to http://127.0.0.1:PORT/ on this computer.', { status: 400 }),
      );
    }
    const session = await sessions.fromCookie(requestCookie(req.headers.cookie, config.cookieName));
    if (!session) {
      if (req.method !== 'GET')
        return replyError(reply, new VallumError(ErrorCodes.UNAUTHORIZED, 'Sign in first, then start the command-line login again.', { status: 401 }));
      const signIn = new URL('/.vallum/sign_in', config.authenticateServiceUrl);
      signIn.searchParams.set('redirect_uri', `${route.from}${req.url}`);
      return reply.redirect(signIn.href, 302);
    }
    const action = `${CLI_LOGIN_PATH}?redirect_uri=${encodeURIComponent(target.href)}`;
    if (req.method === 'GET')
      return sendPage(reply, 200, confirmPage(pagesOf(app), { email: session.email || session.sub, target, action, requestId: req.id }));
    if (!sameOrigin(req.headers, route.from)) {
      return replyError(
        reply,
        new VallumError(ErrorCodes.FORBIDDEN, 'This confirmation did not come from this site: no token was handed out.', { status: 403 }),
      );
    }
    const listener = `${target.hostname}:${target.port}`;
    if (req.query.decline !== undefined) {
      const html = pagesOf(app).render('cli-login-declined', { title: 'No token handed out', requestId: req.id }, { listener });
      return sendPage(reply, 200, html);
    }
    target.searchParams.set('vallum_token', await tokens.sign({ kind: 'session', sid: session.id, expiresAt: session.expiresAt }));
    return reply.redirect(target.href, 303);
  };
  app.get<{ Querystring: Query }>(CLI_LOGIN_PATH, handler);
  app.post<{ Querystring: Query }>(CLI_LOGIN_PATH, handler);
}
