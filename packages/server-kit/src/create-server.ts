// The fastify instance every service starts from: JSON logs with secrets redacted, a request id, one error
// handler that shows a VallumError's code and safe message, and a health endpoint.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { isVallumError } from '@vallum/errors';
import { lazyChildLogger, loggerOptions } from '@vallum/telemetry';

export interface ServerOptions {
  service: string;
  /** false silences logs (tests); otherwise pino options built from telemetry. */
  logger?: boolean;
  logLevel?: string;
  fastify?: Omit<FastifyServerOptions, 'logger'>;
  /** Where the health check answers; the proxy moves it under /.vallum/ so route hosts keep their own /healthz. */
  healthPath?: string;
  /** The service renders its own error pages and sets its handler itself (fastify warns when one is replaced). */
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

  if (!options.ownErrorHandler) app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const known = isVallumError(err);
    const status = known ? err.status : (err.statusCode ?? 500);
    const expose = known ? err.expose : status < 500;
    const code = known ? err.code : (err.code ?? 'VALLUM_INTERNAL');
    if (status >= 500) req.log.error({ err, code }, 'request failed');
    else req.log.info({ code, msg: err.message }, 'request refused');
    void reply
      .status(status)
      .header('x-request-id', req.id)
      .send({ code, message: expose ? err.message : 'internal error', request_id: req.id });
  });

  app.get(options.healthPath ?? '/healthz', async () => ({ status: 'ok', service: options.service }));
  return app;
}
