// The cache service over HTTP (split mode): every route requires a service token minted with shared_secret.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { secretList, type VallumConfig } from '@vallum/config';
import { ErrorCodes, VallumError } from '@vallum/errors';
import { createServer, isServiceCall, requireServiceAuth } from '@vallum/server-kit';
import type { CacheApi } from '@vallum/service-client';
import { sessionView, type ApiTokenRecord, type Session, type SessionView } from '@vallum/session';
import { registerEventStream } from './event-stream.js';

export interface CacheDeps {
  store: CacheApi;
  logger?: boolean;
  /** Aborted when the process starts shutting down: the event streams end then, not at the shutdown deadline. */
  stopping?: AbortSignal;
}

/** The services that use IdP tokens (sign-in, and the ID token for sign-out at the IdP); every other caller, the proxy first, gets sessions without them. */
const TOKEN_READERS: ReadonlySet<string> = new Set(['authenticate']);

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } } as const;

const sessionBody = {
  type: 'object',
  required: ['id', 'sub', 'email', 'groups', 'claims', 'createdAt', 'expiresAt'],
  properties: {
    id: { type: 'string', minLength: 1 },
    sub: { type: 'string' },
    email: { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    claims: { type: 'object', additionalProperties: true },
    idpSid: { type: 'string' },
    idp: { type: 'string' },
    idleTimeoutMs: { type: 'number', minimum: 1 },
    authTime: { type: 'number' },
    acr: { type: 'string' },
    idToken: { type: 'string' },
    accessToken: { type: 'string' },
    refreshToken: { type: 'string' },
    tokenExpiresAt: { type: 'number' },
    createdAt: { type: 'number' },
    expiresAt: { type: 'number' },
  },
} as const;

const apiTokenBody = {
  type: 'object',
  required: ['jti', 'subject', 'groups', 'issuedAt', 'expiresAt'],
  additionalProperties: false,
  properties: {
    jti: { type: 'string', minLength: 1, maxLength: 256 },
    subject: { type: 'string', minLength: 1, maxLength: 256 },
    groups: { type: 'array', items: { type: 'string' } },
    issuedAt: { type: 'number' },
    expiresAt: { type: 'number' },
    description: { type: 'string', maxLength: 1000 },
    revokedAt: { type: 'number' },
  },
} as const;

export function buildApp(
  config: Pick<VallumConfig, 'sharedSecret'> & Partial<Pick<VallumConfig, 'logLevel' | 'logFormat' | 'previousSharedSecrets'>>,
  deps: CacheDeps,
): FastifyInstance {
  const app = createServer({ service: 'cache', logger: deps.logger, logLevel: config.logLevel, logFormat: config.logFormat, trustTrace: isServiceCall });
  const { store } = deps;

  void app.register(async (scope) => {
    const callerOf = requireServiceAuth(scope, { sharedSecret: secretList(config.sharedSecret, config.previousSharedSecrets), audience: 'cache' });
    const shown = (req: FastifyRequest): ((s: Session) => Session | SessionView) => (TOKEN_READERS.has(callerOf(req)) ? (s) => s : sessionView);

    scope.get<{ Params: { id: string } }>('/v1/sessions/:id', { schema: { params: idParams } }, async (req) => {
      const session = await store.getSession(req.params.id);
      if (!session) throw new VallumError(ErrorCodes.SESSION_NOT_FOUND, 'no such session', { status: 404 });
      return shown(req)(session);
    });

    scope.put<{ Params: { id: string }; Body: Session }>('/v1/sessions/:id', { schema: { params: idParams, body: sessionBody } }, async (req, reply) => {
      if (req.body.id !== req.params.id) throw new VallumError(ErrorCodes.BAD_REQUEST, 'id mismatch', { status: 400 });
      await store.putSession(req.body);
      return reply.status(204).send();
    });

    scope.post<{ Params: { id: string }; Body: Session }>('/v1/sessions/:id/update', { schema: { params: idParams, body: sessionBody } }, async (req) => {
      if (req.body.id !== req.params.id) throw new VallumError(ErrorCodes.BAD_REQUEST, 'id mismatch', { status: 400 });
      return { updated: await store.updateSession(req.body) };
    });

    scope.post<{ Params: { id: string } }>('/v1/sessions/:id/touch', { schema: { params: idParams } }, async (req) => ({
      touched: await store.touchSession(req.params.id),
    }));

    scope.get<{ Params: { id: string }; Querystring: { idp_sid?: string } }>(
      '/v1/users/:id/sessions',
      { schema: { params: idParams, querystring: { type: 'object', properties: { idp_sid: { type: 'string', minLength: 1 } } } } },
      async (req) => ({ sessions: (await store.findSessions({ sub: req.params.id, idpSid: req.query.idp_sid })).map(shown(req)) }),
    );

    // A back-channel logout token may name only the IdP session.
    scope.get<{ Params: { id: string } }>('/v1/idp-sessions/:id/sessions', { schema: { params: idParams } }, async (req) => ({
      sessions: (await store.findSessions({ idpSid: req.params.id })).map(shown(req)),
    }));

    registerEventStream(scope, store, deps.stopping);

    scope.delete<{ Params: { id: string } }>('/v1/sessions/:id', { schema: { params: idParams } }, async (req, reply) => {
      await store.deleteSession(req.params.id);
      return reply.status(204).send();
    });

    scope.post<{ Params: { id: string }; Body: { keep_seconds: number } }>(
      '/v1/sessions/:id/end',
      {
        schema: {
          params: idParams,
          body: { type: 'object', required: ['keep_seconds'], properties: { keep_seconds: { type: 'number', minimum: 1, maximum: 3600 } } },
        },
      },
      async (req, reply) => {
        await store.endSession(req.params.id, req.body.keep_seconds);
        return reply.status(204).send();
      },
    );

    scope.post<{ Params: { id: string } }>('/v1/ended-sessions/:id/take', { schema: { params: idParams } }, async (req) => {
      if (!TOKEN_READERS.has(callerOf(req))) throw new VallumError(ErrorCodes.FORBIDDEN, 'only authenticate reads ID tokens', { status: 403 });
      const idToken = await store.takeEndedIdToken(req.params.id);
      if (idToken === null) throw new VallumError(ErrorCodes.SESSION_NOT_FOUND, 'no such ended session', { status: 404 });
      return { idToken };
    });
    scope.put<{ Params: { id: string }; Body: ApiTokenRecord }>(
      '/v1/api-tokens/:id',
      { schema: { params: idParams, body: apiTokenBody } },
      async (req, reply) => {
        if (req.body.jti !== req.params.id) throw new VallumError(ErrorCodes.BAD_REQUEST, 'jti mismatch', { status: 400 });
        await store.recordApiToken(req.body);
        return reply.status(204).send();
      },
    );
    scope.get('/v1/api-tokens', async () => ({ tokens: await store.listApiTokens() }));
    scope.post<{ Params: { id: string }; Body: { until: number } }>(
      '/v1/api-tokens/:id/revoke',
      { schema: { params: idParams, body: { type: 'object', required: ['until'], properties: { until: { type: 'number' } } } } },
      async (req, reply) => {
        await store.revokeApiToken(req.params.id, req.body.until);
        return reply.status(204).send();
      },
    );
    scope.get<{ Params: { id: string } }>('/v1/api-tokens/:id/revoked', { schema: { params: idParams } }, async (req) => ({
      revoked: await store.isApiTokenRevoked(req.params.id),
    }));

    scope.post<{ Params: { id: string }; Body: { ttl_seconds: number } }>(
      '/v1/once/:id',
      {
        schema: {
          params: idParams,
          body: { type: 'object', required: ['ttl_seconds'], properties: { ttl_seconds: { type: 'number', minimum: 1, maximum: 86400 } } },
        },
      },
      async (req) => ({ claimed: await store.claimOnce(req.params.id, req.body.ttl_seconds) }),
    );
    scope.put<{ Params: { id: string }; Body: { value: string; ttl_seconds: number } }>(
      '/v1/values/:id',
      {
        schema: {
          params: idParams,
          body: {
            type: 'object',
            required: ['value', 'ttl_seconds'],
            properties: { value: { type: 'string', maxLength: 1_048_576 }, ttl_seconds: { type: 'number', minimum: 1, maximum: 86400 } },
          },
        },
      },
      async (req, reply) => {
        await store.putOneTimeValue(req.params.id, req.body.value, req.body.ttl_seconds);
        return reply.code(204).send();
      },
    );
    scope.post<{ Params: { id: string } }>('/v1/values/:id/take', { schema: { params: idParams } }, async (req) => ({
      value: await store.takeOneTimeValue(req.params.id),
    }));
  });
  return app;
}
