// An open tunnel holds its two sockets and nothing else: at 10,000 idle WebSockets, every object kept per
// connection is multiplied (bench/scale/websockets.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadConfigText } from '@vallum/config';
import { forwardUpgrade } from './upgrade.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const listen = async (server: Server) => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
};

test('an open WebSocket tunnel keeps neither the client request nor the upstream request', async (t) => {
  const upstreamSockets: Duplex[] = [];
  const upstream = createServer();
  upstream.on('upgrade', (_req, socket: Duplex) => {
    upstreamSockets.push(socket);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  });
  const upstreamPort = await listen(upstream);
  const route = loadConfigText(
    `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: s, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
routes:
  - { from: "http://app.localhost:8000", to: "http://127.0.0.1:${upstreamPort}", allow_websockets: true, allow_public_unauthenticated_access: true }
`,
    'vallum.yaml',
    { env: {} },
  ).routes[0]!;

  const requests: Array<WeakRef<IncomingMessage>> = [];
  const statuses: number[] = [];
  const proxy = createServer();
  proxy.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    requests.push(new WeakRef(req));
    const target = { route, endpoint: route.to[0]!, path: req.url ?? '/', headers: { upgrade: 'websocket', connection: 'Upgrade' } };
    void forwardUpgrade(req, socket, head, target).then((status) => statuses.push(status));
  });
  const port = await listen(proxy);
  const clients: Socket[] = [];
  for (let i = 0; i < 3; i++) {
    clients.push(
      await new Promise<Socket>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/socket', headers: { connection: 'Upgrade', upgrade: 'websocket' } });
        req.on('upgrade', (_res, socket) => resolve(socket));
        req.on('error', reject);
        req.end();
      }),
    );
  }
  t.after(async () => {
    for (const s of [...clients, ...upstreamSockets]) s.destroy();
    await Promise.all([proxy, upstream].map((s) => new Promise((r) => s.close(r))));
  });
  assert.deepEqual(statuses, [101, 101, 101]);

  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.deepEqual(
    requests.map((r) => r.deref() === undefined),
    [true, true, true],
    'the tunnels are open and their requests collected',
  );
  // The tunnels still carry bytes.
  const echoed = new Promise<string>((resolve) => clients[0]!.once('data', (d: Buffer) => resolve(String(d))));
  upstreamSockets[0]!.write('ping');
  assert.equal(await echoed, 'ping');
});
