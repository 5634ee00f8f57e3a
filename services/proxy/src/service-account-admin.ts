// The admin API's service-account tokens: list the recorded ones, and revoke one by its `jti` (a deny list in the
// store that every proxy hears of at once through the cache's change events).
import type { FastifyInstance } from 'fastify';
import { revokeApiTokenUntilExpiry, type CacheViewApi } from '@vallum/service-client';
import type { ApiTokenRecord } from '@vallum/session';
import { logAdminAction, type AdminAction, type AdminGate, ADMIN_PREFIX } from './admin-action.js';

export const SERVICE_ACCOUNT_TOKENS_PATH = `${ADMIN_PREFIX}/service-accounts/tokens`;

export function registerServiceAccountAdmin(app: FastifyInstance, deps: { cache: CacheViewApi; admin: AdminGate; maxLifetimeMs: number }): void {
  const { cache, admin } = deps;
  app.get(SERVICE_ACCOUNT_TOKENS_PATH, async (req, reply) => {
    const action: AdminAction = { action: 'list-service-account-tokens', target: 'service-accounts' };
    const by = await admin(req, reply, action);
    if (!by) return reply;
    const tokens = await cache.listApiTokens();
    logAdminAction(req, by, action, 'done', { count: tokens.length });
    return { tokens: tokens.sort((a, b) => a.issuedAt - b.issuedAt).map(publicRecord) };
  });
  app.delete<{ Params: { jti: string } }>(
    `${SERVICE_ACCOUNT_TOKENS_PATH}/:jti`,
    { schema: { params: { type: 'object', required: ['jti'], properties: { jti: { type: 'string', minLength: 1, maxLength: 256 } } } } },
    async (req, reply) => {
      const action: AdminAction = { action: 'revoke-service-account-token', target: `api-token:${req.params.jti}` };
      const by = await admin(req, reply, action);
      if (!by) return reply;
      const { until } = await revokeApiTokenUntilExpiry(cache, req.params.jti, deps.maxLifetimeMs);
      logAdminAction(req, by, action, 'done');
      return { revoked: req.params.jti, until: new Date(until).toISOString() };
    },
  );
}

const publicRecord = (r: ApiTokenRecord) => ({
  jti: r.jti,
  subject: r.subject,
  groups: r.groups,
  description: r.description,
  issued_at: new Date(r.issuedAt).toISOString(),
  expires_at: new Date(r.expiresAt).toISOString(),
  revoked_at: r.revokedAt === undefined ? undefined : new Date(r.revokedAt).toISOString(),
});
