// /.vallum/ on every route host: who you are (email, groups, session age and expiry), which routes you may open,
// and a sign-out button. Without a session it sends you to sign in and back here.
import type { FastifyInstance } from 'fastify';
import type { RouteConfig, VallumConfig } from '@vallum/config';
import type { PageSet } from '@vallum/server-kit';
import { pagesOf, replyError, sendPage } from '@vallum/server-kit';
import type { SessionView } from '@vallum/session';
import type { AccessCheck } from './access.js';
import { noRouteError } from './refusal-errors.js';
import type { SessionResolver } from './session-resolver.js';
import { requestCookie } from './request-cookie.js';

export const USER_PAGE_PATH = '/.vallum/';

export function registerUserPage(
  app: FastifyInstance,
  deps: { config: VallumConfig; sessions: SessionResolver; access: AccessCheck; routeForHost(host: string): RouteConfig | undefined },
): void {
  const { config, sessions, access } = deps;
  app.get(USER_PAGE_PATH, async (req, reply) => {
    const host = (req.headers.host ?? '').toLowerCase();
    const route = deps.routeForHost(host);
    if (!route) return replyError(reply, noRouteError(host));
    const session = await sessions.fromCookie(requestCookie(req.headers.cookie, config.cookieName));
    if (!session) {
      const signIn = new URL('/.vallum/sign_in', config.authenticateServiceUrl);
      signIn.searchParams.set('redirect_uri', `${route.from}${USER_PAGE_PATH}`);
      return reply.header('cache-control', 'no-store').redirect(signIn.href, 302);
    }
    // A tcp route is reached through `vallum tcp`, not a link.
    const open = await Promise.all(
      config.routes.filter((r) => !r.tcp).map(async (r) => ((await access.mayOpen(session, r).catch(() => false)) ? r : undefined)),
    );
    return sendPage(
      reply,
      200,
      userPage(
        pagesOf(app),
        session,
        open.filter((r): r is RouteConfig => r !== undefined),
        req.id,
      ),
    );
  });
}

function userPage(pages: PageSet, session: SessionView, routes: readonly RouteConfig[], requestId: string): string {
  const now = Date.now();
  const links = [...new Map(routes.map((r) => [`${r.from}${r.prefix}`, r])).values()].map((r) => ({
    href: `${r.from}${r.prefix}`,
    label: `${r.host}${r.prefix}`,
  }));
  return pages.render(
    'user',
    { title: 'Your Vallum session', requestId },
    {
      user: session.email || session.sub,
      age: duration(now - session.createdAt),
      createdAt: session.createdAt,
      expiresIn: duration(session.expiresAt - now),
      expiresAt: session.expiresAt,
      idle: session.idleTimeoutMs ? duration(session.idleTimeoutMs) : undefined,
      groups: session.groups,
      routes: links,
    },
  );
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}
