// GET /v1/events: the ids of changed or deleted sessions, one JSON line each, for proxies in split mode to drop
// their in-process copies at once. A blank line every few seconds keeps idle connections (and their checks) alive.
// The streams never end by themselves, so a shutdown (`stopping`) ends them at once: followers reconnect elsewhere.
import type { FastifyInstance } from 'fastify';
import { ErrorCodes, VallumError } from '@vallum/errors';
import type { CacheApi } from '@vallum/service-client';

const HEARTBEAT_MS = 5_000;

export function registerEventStream(scope: FastifyInstance, store: CacheApi, stopping?: AbortSignal): void {
  const open = new Set<() => void>();
  const endAll = () => {
    for (const end of open) end();
  };
  scope.addHook('preClose', async () => endAll());
  stopping?.addEventListener('abort', endAll, { once: true });
  // The signal outlives this app (a reload builds another): its listener must not keep this one alive.
  scope.addHook('onClose', async () => stopping?.removeEventListener('abort', endAll));
  scope.get('/v1/events', async (req, reply) => {
    if (stopping?.aborted) throw new VallumError(ErrorCodes.SERVICE_UNAVAILABLE, 'the cache service is shutting down', { status: 503 });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.write('\n');
    const unsubscribe = store.subscribe((sid) => res.write(`${JSON.stringify({ sid })}\n`));
    const heartbeat = setInterval(() => res.write('\n'), HEARTBEAT_MS);
    const end = () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(end);
      res.end();
    };
    open.add(end);
    req.raw.once('close', end);
  });
}
