import type { FastifyInstance } from 'fastify';
import { secretList, type VallumConfig } from '@vallum/config';
import type { VallumMetrics } from '@vallum/telemetry';
import { createServer, isServiceCall, requireServiceAuth } from '@vallum/server-kit';
import { createAuthorizer, type Authorizer } from './authorizer.js';
import { evaluateRoute } from './routes/evaluate.js';

export interface AppDeps {
  authorizer?: Authorizer;
  /** false silences logs (tests). */
  logger?: boolean;
  /** Counts decisions by result and reason; none when absent. */
  metrics?: VallumMetrics | undefined;
}

/** The authorize service: never listens, never reads process.env. Throws at build time on an invalid policy. */
export function buildApp(config: VallumConfig, deps: AppDeps = {}): FastifyInstance {
  const app = createServer({ service: 'authorize', logger: deps.logger, logLevel: config.logLevel, logFormat: config.logFormat, trustTrace: isServiceCall });
  // Decisions made over HTTP are logged through the request's logger by the route, so the authorizer needs none.
  const authorizer = deps.authorizer ?? createAuthorizer(config, { metrics: deps.metrics });
  // Encapsulated so the service-token hook covers the API alone (the listener answers /healthz and /readyz before the app).
  void app.register(async (scope) => {
    requireServiceAuth(scope, { sharedSecret: secretList(config.sharedSecret, config.previousSharedSecrets), audience: 'authorize' });
    await scope.register(evaluateRoute, { authorizer });
  });
  return app;
}
