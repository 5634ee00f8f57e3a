// The command-line login, like `pomerium-cli`: a tool listening on a loopback port opens
// /.vallum/api/v1/login?redirect_uri=http://127.0.0.1:PORT/ in the browser; once the user is signed in, the browser
// is sent to that listener with a Vallum token naming the session. Only loopback listeners ever get a token.
import type { FastifyInstance } from 'fastify';
import type { RouteConfig, VallumConfig } from '@vallum/config';
import { ErrorCodes, VallumError } from '@vallum/errors';
import { replyError } from '@vallum/server-kit';
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

export function registerCliLogin(
  app: FastifyInstance,
  deps: { config: VallumConfig; sessions: SessionResolver; routeForHost(host: string): RouteConfig | undefined },
): void {
  const { config, sessions } = deps;
  const tokens = createApiTokenCodec(config.sharedSecret);
  app.get<{ Querystring: { redirect_uri?: string } }>(CLI_LOGIN_PATH, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const host = (req.headers.host ?? '').toLowerCase();
    const route = deps.routeForHost(host);
    if (!route) return replyError(reply, noRouteError(host));
    const target = loopbackTarget(req.query.redirect_uri);
    if (!target) {
      return replyError(reply, new VallumError(ErrorCodes.BAD_REQUEST, 'The command-line login only hands tokens to http://127.0.0.1:PORT/ on this computer.', { status: 400 }));
    }
    const session = await sessions.fromCookie(requestCookie(req.headers.cookie, config.cookieName));
    if (!session) {
      const signIn = new URL('/.vallum/sign_in', config.authenticateServiceUrl);
      signIn.searchParams.set('redirect_uri', `${route.from}${req.url}`);
      return reply.redirect(signIn.href, 302);
    }
    target.searchParams.set('vallum_token', await tokens.sign({ kind: 'session', sid: session.id, expiresAt: session.expiresAt }));
    return reply.redirect(target.href, 302);
  });
}
