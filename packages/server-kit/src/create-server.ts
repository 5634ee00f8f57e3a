// The fastify instance every service starts from: JSON logs with secrets redacted, a request id, an error handler
// that answers JSON through the one error renderer (error-response.ts), and a health endpoint.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { lazyChildLogger, loggerOptions } from '@vallum/telemetry';
import { renderError, replyRenderedError } from './error-response.js';

export interface ServerOptions {
  service: string;
  /** false silences logs (tests); otherwise pino options built from telemetry. */
  logger?: boolean;
  logLevel?: string;
  fastify?: Omit<FastifyServerOptions, 'logger'>;
  /** Where the health check answers; the proxy moves it under /.vallum/ so route hosts keep their own /healthz. */
  healthPath?: string;
  /** The service sets its own error handler, e.g. for pages rather than JSON (fastify warns when one is replaced). */
  ownErrorHandler?: boolean;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The client's X-Request-Id when it is a sane token, else a new one. */
export function requestIdOf(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export function createServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({
    logger: options.logger === false ? false : loggerOptions({ service: options.service, level: options.logLevel }),
    requestIdHeader: false,
    genReqId: requestIdOf,
    ...(options.logger === false ? {} : { childLoggerFactory: (logger, bindings, opts) => lazyChildLogger(logger as Parameters<typeof lazyChildLogger>[0], bindings, opts) }),
    ...options.fastify,
  });

  if (!options.ownErrorHandler) app.setErrorHandler((err: Error, req, reply) => {
    const rendered = renderError(err, { requestId: req.id, format: 'json' });
    if (rendered.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: (err as { code?: unknown }).code, msg: err.message }, 'request refused');
    void replyRenderedError(reply, rendered);
  });

  app.get(options.healthPath ?? '/healthz', async () => ({ status: 'ok', service: options.service }));
  return app;
}
