import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createServiceTokenVerifier, type Secrets } from '@vallum/service-auth';

export interface ServiceAuthOptions {
  /** The current shared secret, then previous ones still accepted during a rotation. */
  sharedSecret: Secrets;
  /** The name this service answers to; tokens minted for another service are refused. */
  audience: string;
}

/**
 * Requires a service token on every route of the (encapsulated) instance it is added to. Returns how to learn which
 * service made a request, so a route can answer each caller only what it needs.
 */
export function requireServiceAuth(app: FastifyInstance, options: ServiceAuthOptions): (req: FastifyRequest) => string {
  const verifier = createServiceTokenVerifier(options.sharedSecret, options.audience);
  const callers = new WeakMap<FastifyRequest, string>();
  app.addHook('onRequest', async (req) => {
    callers.set(req, await verifier.verify(req.headers.authorization));
  });
  return (req) => callers.get(req) ?? '';
}
