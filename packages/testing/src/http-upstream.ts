// A node:http server on a free loopback port, for tests that need an upstream with their own behaviour.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpUpstream {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function startHttpUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<HttpUpstream> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
