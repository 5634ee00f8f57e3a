// POST /v1/evaluate: the HTTP face of the authorizer, for a proxy running in another process.
import type { FastifyInstance } from 'fastify';
import type { AuthorizeRequest } from '@vallum/service-client';
import { noteAccess } from '@vallum/server-kit';
import type { Authorizer } from '../authorizer.js';

const str = { type: 'string', maxLength: 8192 } as const;

export const evaluateSchema = {
  body: {
    type: 'object',
    required: ['routeId', 'identity', 'request'],
    additionalProperties: false,
    properties: {
      routeId: { type: 'string', minLength: 1, maxLength: 256 },
      identity: {
        type: ['object', 'null'],
        required: ['sub', 'email', 'groups', 'claims'],
        additionalProperties: false,
        properties: {
          sub: str,
          email: str,
          groups: { type: 'array', maxItems: 1000, items: str },
          claims: { type: 'object' },
          authTime: { type: 'number' },
          acr: str,
        },
      },
      request: {
        type: 'object',
        required: ['method', 'host', 'path'],
        additionalProperties: false,
        properties: {
          method: { type: 'string', maxLength: 32 },
          host: str,
          path: str,
          headers: { type: 'object', maxProperties: 100, additionalProperties: str },
          sourceIp: { type: 'string', maxLength: 64 },
          clientCertificate: {
            type: 'object',
            required: ['fingerprint', 'spkiHash', 'sanEmail', 'sanDns', 'issuer'],
            additionalProperties: false,
            properties: {
              fingerprint: { type: 'string', maxLength: 64 },
              spkiHash: { type: 'string', maxLength: 64 },
              sanEmail: { type: 'array', maxItems: 100, items: str },
              sanDns: { type: 'array', maxItems: 100, items: str },
              subjectCn: str,
              issuer: str,
            },
          },
        },
      },
      requestId: { type: 'string', maxLength: 256 },
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['allow', 'reasons'],
      properties: {
        allow: { type: 'boolean' },
        shadow: { type: 'boolean' },
        cacheableUntil: { type: 'number' },
        policyVersion: { type: 'string' },
        reasons: {
          type: 'array',
          items: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
        },
      },
    },
  },
} as const;

export interface EvaluateRouteOptions {
  authorizer: Authorizer;
}

export async function evaluateRoute(app: FastifyInstance, options: EvaluateRouteOptions): Promise<void> {
  app.post<{ Body: AuthorizeRequest }>('/v1/evaluate', { schema: evaluateSchema }, async (req) => {
    const decision = options.authorizer.decide(req.body, req.log);
    noteAccess(req, {
      vallum_route: req.body.routeId,
      user: req.body.identity?.email ?? null,
      decision: decision.shadow ? 'would-deny' : decision.allow ? 'allow' : 'deny',
    });
    return decision;
  });
  // Same input, answered with each stage's verdict and never logged as a decision: for operators, not for the proxy.
  app.post<{ Body: AuthorizeRequest }>('/v1/explain', { schema: { body: evaluateSchema.body } }, async (req) => options.authorizer.explain(req.body));
}
