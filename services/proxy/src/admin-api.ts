// The admin API on every route host, behind `admin_policy` (closed when absent): list a user's sessions, revoke
// one, or revoke all of a user's sessions. Revocations reach every proxy through the cache's change events.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConfigCheck, ConfigIssue, VallumConfig } from '@vallum/config';
import { compilePolicy, routeDecision, validatePolicy, type CompiledPolicy } from '@vallum/policy';
import type { CacheViewApi } from '@vallum/service-client';
import type { SessionView } from '@vallum/session';
import type { AccessCheck } from './access.js';
import { requestCookie } from './request-cookie.js';

export const ADMIN_PREFIX = '/.vallum/admin/v1';

/** Config check: `admin_policy` is a valid policy, reported at its file:line:col like route policies. */
export const adminPolicyCheck: ConfigCheck = (raw) => {
  const policy = (raw as { admin_policy?: unknown }).admin_policy;
  if (policy === undefined) return [];
  return validatePolicy(policy).map((issue): ConfigIssue => ({ path: ['admin_policy', ...issue.path], message: issue.message }));
};

const publicView = (s: SessionView) => ({ id: s.id, sub: s.sub, email: s.email, groups: s.groups, created_at: s.createdAt, expires_at: s.expiresAt, idp_sid: s.idpSid });

export function registerAdminApi(app: FastifyInstance, deps: { config: VallumConfig; cache: CacheViewApi; access: AccessCheck }): void {
  const { config, cache, access } = deps;
  const policy: CompiledPolicy | undefined = config.adminPolicy === undefined ? undefined : compilePolicy(config.adminPolicy);

  /** The admin making the call, or a reply already sent. */
  const admin = async (req: FastifyRequest, reply: FastifyReply): Promise<SessionView | undefined> => {
    reply.header('cache-control', 'no-store');
    const session = await access.identify(requestCookie(req.headers.cookie, config.cookieName), req.headers.authorization);
    if (!session || session === 'invalid-token') {
      void reply.status(401).send({ code: 'VALLUM_UNAUTHORIZED', message: 'Sign in or send a bearer token.' });
      return undefined;
    }
    const host = (req.headers.host ?? '').toLowerCase();
    const decision = policy
      ? routeDecision({ allowPublicUnauthenticatedAccess: false, allowAnyAuthenticatedUser: false, policy }, deps.access.identityOf(session), { method: req.method, host, path: req.url.split('?')[0] ?? '' })
      : { allow: false, reasons: [] };
    if (!decision.allow) {
      void reply.status(403).send({ code: 'VALLUM_ACCESS_DENIED', message: policy ? 'admin_policy does not allow you.' : 'The admin API is closed: set admin_policy.', reasons: decision.reasons });
      return undefined;
    }
    return session;
  };

  const subParams = { type: 'object', required: ['sub'], properties: { sub: { type: 'string', minLength: 1, maxLength: 256 } } } as const;
  app.get<{ Params: { sub: string } }>(`${ADMIN_PREFIX}/users/:sub/sessions`, { schema: { params: subParams } }, async (req, reply) => {
    if (!(await admin(req, reply))) return reply;
    return { sessions: (await cache.findSessions({ sub: req.params.sub })).map(publicView) };
  });
  app.delete<{ Params: { sub: string } }>(`${ADMIN_PREFIX}/users/:sub/sessions`, { schema: { params: subParams } }, async (req, reply) => {
    const by = await admin(req, reply);
    if (!by) return reply;
    const sessions = await cache.findSessions({ sub: req.params.sub });
    for (const s of sessions) await cache.deleteSession(s.id);
    req.log.info({ admin: by.email || by.sub, user: req.params.sub, revoked: sessions.length }, 'admin revoked sessions');
    return { revoked: sessions.length };
  });
  app.delete<{ Params: { id: string } }>(
    `${ADMIN_PREFIX}/sessions/:id`,
    { schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } } } },
    async (req, reply) => {
      const by = await admin(req, reply);
      if (!by) return reply;
      const existed = (await cache.getSession(req.params.id)) !== null;
      await cache.deleteSession(req.params.id);
      req.log.info({ admin: by.email || by.sub, revoked: existed ? 1 : 0 }, 'admin revoked a session');
      return { revoked: existed ? 1 : 0 };
    },
  );
}
