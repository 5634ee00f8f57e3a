// GET /v1/events: the ids of changed or deleted sessions, one JSON line each, for proxies in split mode to drop
// their in-process copies at once. A blank line every few seconds keeps idle connections (and their checks) alive.
import type { FastifyInstance } from 'fastify';
import type { CacheApi } from '@vallum/service-client';

const HEARTBEAT_MS = 5_000;

export function registerEventStream(scope: FastifyInstance, store: CacheApi): void {
  const open = new Set<() => void>();
  scope.addHook('preClose', async () => {
    for (const end of open) end();
  });
  scope.get('/v1/events', async (req, reply) => {
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
