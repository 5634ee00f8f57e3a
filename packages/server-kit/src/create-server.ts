// The fastify instance every service starts from: JSON logs with secrets redacted, a request id and a trace,
// one access line per request (access-line.ts), error and not-found handlers that answer through the one error
// renderer (error-response.ts). /healthz and /readyz are the listener's (readiness.ts), answered before the app.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import {
  createAccessLogger,
  createRepeatedLog,
  createTraceStarter,
  errorFields,
  errorKey,
  lazyChildLogger,
  LogFields,
  loggerOptions,
  type LogFormat,
} from '@vallum/telemetry';
import { accessLineHook, startAccess } from './access-line.js';
import { ErrorCodes, VallumError } from '@vallum/errors';
import type { PageSet } from '@vallum/pages';
import { renderError, replyError, replyRenderedError, type ErrorRenderOptions } from './error-response.js';

export interface ServerOptions {
  service: string;
  /** false silences logs (tests); otherwise pino options built from telemetry. */
  logger?: boolean;
  logLevel?: string;
  logFormat?: LogFormat;
  /**
   * Whether a request's traceparent is believed (its trace continued): a trusted proxy's, or a service call's.
   * Otherwise every request starts a trace of its own.
   */
  trustTrace?: (raw: IncomingMessage) => boolean;
  fastify?: Omit<FastifyServerOptions, 'logger'>;
  /**
   * How the service's errors read. APIs answer JSON (the default); a service people open in a browser negotiates
   * a page or JSON, and may name its error page and its generic message.
   */
  errors?: Pick<ErrorRenderOptions, 'format' | 'title' | 'genericMessage'>;
  /** The service sets its own error handler, through the same renderer (fastify warns when one is replaced). */
  ownErrorHandler?: boolean;
  /** The config's pages (templates and branding) every page of this app is rendered with; built-in ones by default. */
  pages?: PageSet | undefined;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The client's X-Request-Id when it is a sane token, else a new one (`newId`: the proxy passes its trace starter's). */
export function requestIdOf(req: { headers: Record<string, string | string[] | undefined> }, newId: () => string = randomUUID): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : newId();
}

export function createServer(options: ServerOptions): FastifyInstance {
  const traces = createTraceStarter({ sampleRatio: 0 });
  const trustTrace = options.trustTrace ?? (() => false);
  const logs = options.logger !== false;
  const app = Fastify({
    logger: logs ? loggerOptions({ service: options.service, level: options.logLevel, format: options.logFormat }) : false,
    requestIdHeader: false,
    requestIdLogLabel: LogFields.requestId,
    genReqId: requestIdOf,
    // The access line (access-line.ts) replaces fastify's two lines per request.
    disableRequestLogging: true,
    ...(logs
      ? {
          childLoggerFactory: (logger, bindings, opts, raw) => {
            const trace = startAccess(raw as IncomingMessage, traces, trustTrace(raw as IncomingMessage));
            return lazyChildLogger(logger as Parameters<typeof lazyChildLogger>[0], { ...bindings, [LogFields.traceId]: trace.traceId }, opts);
          },
        }
      : {}),
    ...options.fastify,
  });
  if (logs) app.addHook('onResponse', accessLineHook(createAccessLogger({ service: options.service, level: options.logLevel, format: options.logFormat })));

  if (options.pages) app.decorate('vallumPages', options.pages);
  const errors: NonNullable<ServerOptions['errors']> & Pick<ErrorRenderOptions, 'pages'> = {
    format: 'json',
    ...options.errors,
    pages: options.pages,
  };
  if (!options.ownErrorHandler) {
    // A dependency down (the store, the IdP, another service) fails every request alike: logged once per interval.
    const failures = createRepeatedLog(app.log);
    app.addHook('onClose', async () => failures.close());
    app.setErrorHandler((err: Error, req, reply) => {
      const rendered = renderError(err, { ...errors, requestId: req.id, accept: req.headers.accept });
      if (rendered.status >= 500) failures.write('error', errorKey(err), { reqId: req.id, ...errorFields(err) }, 'request failed');
      else req.log.debug({ code: (err as { code?: unknown }).code, msg: err.message }, 'request refused');
      void replyRenderedError(reply, rendered);
    });
  }
  app.setNotFoundHandler((_req, reply) =>
    replyError(reply, new VallumError(ErrorCodes.ROUTE_NOT_FOUND, 'There is no such page.', { status: 404 }), { format: errors.format }),
  );
  return app;
}
