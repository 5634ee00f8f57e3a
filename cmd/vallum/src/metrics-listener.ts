// The metrics listener on `metrics_address`: a plain node:http server of its own, never one of the route hosts, that
// serves the process's registry at GET /metrics (and, through `probes`, the health and readiness checks).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VallumMetrics } from '@vallum/telemetry';
import { parseListenAddress } from './listen-address.js';

export interface MetricsListenerOptions {
  /** Answers other paths first (e.g. /healthz, /readyz); returns true when it answered. */
  probes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface MetricsListener {
  /** The bound address, e.g. http://127.0.0.1:9090 */
  url: string;
  close(): Promise<void>;
}

export async function startMetricsListener(
  address: string,
  metrics: Pick<VallumMetrics, 'scrape'>,
  options: MetricsListenerOptions = {},
): Promise<MetricsListener> {
  const { host, port } = parseListenAddress(address, 'metrics_address');
  const server = createServer((req, res) => {
    if (options.probes?.(req, res)) return;
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics') return answer(res, 404, 'Not found: metrics are at /metrics.\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return answer(res, 405, 'Method not allowed.\n');
    }
    metrics.scrape().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => answer(res, 500, 'Collecting metrics failed.\n'),
    );
  });
  // Scrapers keep connections open between scrapes; shutting down must not wait for them.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    url: `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answer(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
