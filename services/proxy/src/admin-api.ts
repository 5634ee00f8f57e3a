// The admin API on every route host, behind `global_policy` and then `admin_policy` (closed when absent), combined
// as on routes (deny wins): list a user's sessions, revoke one, or revoke all of a user's sessions. Revocations reach
// every proxy through the cache's change events. Every call is logged at info with the admin who made it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { acceptsIdp, compilePolicies, ConfigError, DEFAULT_IDP_NAME, sessionIdp, type VallumConfig } from '@vallum/config';
import { ErrorCodes, VallumError } from '@vallum/errors';
import { replyError } from '@vallum/server-kit';
import { routeDecision, type RouteAccess } from '@vallum/policy';
import type { CacheViewApi } from '@vallum/service-client';
import type { SessionView } from '@vallum/session';
import type { AccessCheck } from './access.js';
import { requestCookie } from './request-cookie.js';
import { registerServiceAccountAdmin } from './service-account-admin.js';
import { ADMIN_PREFIX, logAdminAction, type AdminAction } from './admin-action.js';

export { ADMIN_PREFIX } from './admin-action.js';

const publicView = (s: SessionView) => ({
  id: s.id,
  sub: s.sub,
  email: s.email,
  groups: s.groups,
  created_at: s.createdAt,
  expires_at: s.expiresAt,
  idp_sid: s.idpSid,
  idp: sessionIdp(s),
});

/** Admins sign in at the default IdP: another IdP's groups (a partner's `admins`) never open the admin API. */
const ADMIN_IDPS = { idps: [DEFAULT_IDP_NAME] };

export function registerAdminApi(app: FastifyInstance, deps: { config: VallumConfig; cache: CacheViewApi; access: AccessCheck }): void {
  const { config, cache, access } = deps;
  const { admin: policy, global } = compiledPolicies(config);
  const rule: RouteAccess = { allowPublicUnauthenticatedAccess: false, allowAnyAuthenticatedUser: false, policy, global };

  /** The admin making the call, or a reply already sent. */
  const admin = async (req: FastifyRequest, reply: FastifyReply, action: AdminAction): Promise<SessionView | undefined> => {
    reply.header('cache-control', 'no-store');
    const session = await access.identify(requestCookie(req.headers.cookie, config.cookieName), req.headers.authorization);
    if (!session || session === 'invalid-token' || !acceptsIdp(ADMIN_IDPS, session)) {
      void replyError(reply, new VallumError(ErrorCodes.UNAUTHORIZED, 'Sign in or send a bearer token.', { status: 401 }), { format: 'json' });
      return undefined;
    }
    const host = (req.headers.host ?? '').toLowerCase();
    const decision = policy
      ? routeDecision(rule, deps.access.identityOf(session), { method: req.method, host, path: req.url.split('?')[0] ?? '' })
      : { allow: false, reasons: [] };
    if (!decision.allow || decision.shadow) {
      logAdminAction(req, session, action, 'denied');
      const message = policy ? 'global_policy or admin_policy does not allow you.' : 'The admin API is closed: set admin_policy.';
      void replyError(reply, new VallumError(ErrorCodes.ACCESS_DENIED, message, { status: 403, details: { reasons: decision.reasons } }), { format: 'json' });
      return undefined;
    }
    return session;
  };

  const subParams = { type: 'object', required: ['sub'], properties: { sub: { type: 'string', minLength: 1, maxLength: 256 } } } as const;
  app.get<{ Params: { sub: string } }>(`${ADMIN_PREFIX}/users/:sub/sessions`, { schema: { params: subParams } }, async (req, reply) => {
    const action: AdminAction = { action: 'list-sessions', target: `user:${req.params.sub}` };
    const by = await admin(req, reply, action);
    if (!by) return reply;
    const sessions = await cache.findSessions({ sub: req.params.sub });
    logAdminAction(req, by, action, 'done', { count: sessions.length });
    return { sessions: sessions.map(publicView) };
  });
  app.delete<{ Params: { sub: string } }>(`${ADMIN_PREFIX}/users/:sub/sessions`, { schema: { params: subParams } }, async (req, reply) => {
    const action: AdminAction = { action: 'revoke-user-sessions', target: `user:${req.params.sub}` };
    const by = await admin(req, reply, action);
    if (!by) return reply;
    const sessions = await cache.findSessions({ sub: req.params.sub });
    for (const s of sessions) await cache.deleteSession(s.id);
    logAdminAction(req, by, action, 'done', { revoked: sessions.length });
    return { revoked: sessions.length };
  });
  app.delete<{ Params: { id: string } }>(
    `${ADMIN_PREFIX}/sessions/:id`,
    { schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } } } },
    async (req, reply) => {
      // The session id is a credential's key: the log names the session by its owner, never by its id.
      const by = await admin(req, reply, { action: 'revoke-session', target: 'session' });
      if (!by) return reply;
      const session = await cache.getSession(req.params.id);
      await cache.deleteSession(req.params.id);
      logAdminAction(req, by, { action: 'revoke-session', target: session ? `user:${session.sub}` : 'session' }, 'done', { revoked: session ? 1 : 0 });
      return { revoked: session ? 1 : 0 };
    },
  );
  registerServiceAccountAdmin(app, { cache, admin, maxLifetimeMs: config.serviceAccountMaxLifetimeMs });
}

/** `global_policy` and `admin_policy`, compiled with the named policies they may `use`; loading the config has checked they compile. */
function compiledPolicies(config: VallumConfig) {
  const { compiled, problems } = compilePolicies(config);
  if (!compiled) throw new ConfigError(config.file, problems);
  return compiled;
}
