import type { FastifyInstance } from 'fastify';
import { createServiceTokenVerifier } from '@vallum/service-auth';

export interface ServiceAuthOptions {
  sharedSecret: string;
  /** The name this service answers to; tokens minted for another service are refused. */
  audience: string;
}

/** Requires a service token on every route of the (encapsulated) instance it is added to. */
export function requireServiceAuth(app: FastifyInstance, options: ServiceAuthOptions): void {
  const verifier = createServiceTokenVerifier(options.sharedSecret, options.audience);
  app.addHook('onRequest', async (req) => {
    await verifier.verify(req.headers.authorization);
  });
}
