// Vallum's own pages and APIs on every route host (/.vallum/*, /.well-known/vallum/*): fastify, as an encapsulated
// plugin. The data plane (proxy-handler.ts) sends those paths here; nothing here is forwarded.
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import cookie from '@fastify/cookie';
import { isVallumError } from '@vallum/errors';
import { createServer, replyError, sendError } from '@vallum/server-kit';
import { createRepeatedLog, errorFields, errorKey } from '@vallum/telemetry';
import type { ProxyState } from './proxy-state.js';
import { noSuchPageError } from './refusal-errors.js';
import { registerSessionRoutes } from './session-routes.js';

export function buildOwnPages(state: ProxyState, options: { logger?: boolean | undefined }): FastifyInstance {
  const app = createServer({
    service: 'proxy',
    logger: options.logger,
    logLevel: state.config.logLevel,
    logFormat: state.config.logFormat,
    trustTrace: (raw) => state.trusted(raw.socket.remoteAddress),
    ownErrorHandler: true,
    pages: state.config.pages,
  });
  const failures = createRepeatedLog(app.log);
  app.addHook('onClose', async () => failures.close());
  app.setErrorHandler((err: Error, req, reply) => {
    if (!isVallumError(err) || err.status >= 500) failures.write('error', errorKey(err), { reqId: req.id, ...errorFields(err) }, 'proxy error');
    reply.hijack();
    sendError(reply.raw, err, { requestId: req.id, accept: req.headers.accept, pages: state.config.pages });
  });
  void app.register(ownPagesPlugin, state);
  return app;
}

export const ownPagesPlugin: FastifyPluginCallback<ProxyState> = (app, state, done) => {
  // Cookies are read one by one where needed (requestCookie), not parsed for every request.
  void app.register(cookie, { hook: false });
  // Bodies are never parsed or buffered here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, parsed) => parsed(null));
  registerSessionRoutes(app, state);
  // /.vallum/ belongs to Vallum on every route host: an unknown page there is a 404, never forwarded to the app.
  const notFound = async (_req: unknown, reply: Parameters<typeof replyError>[0]) => replyError(reply, noSuchPageError());
  app.all('/', notFound);
  app.all('/*', notFound);
  done();
};
