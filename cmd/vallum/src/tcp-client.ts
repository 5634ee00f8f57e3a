// The client side of a tcp route: a local listener whose every connection becomes an HTTP CONNECT tunnel through
// Vallum, with the user's token in Proxy-Authorization. A refused tunnel closes that one local connection and says
// why (not signed in, denied, upstream down, Vallum unreachable); the listener keeps serving.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TcpClientOptions {
  /** `host:port` of the tcp route (its `from`, without the scheme). */
  authority: string;
  /** Where Vallum listens, e.g. https://db.corp.example.com or http://127.0.0.1:8000. */
  proxyUrl: URL;
  listen: { host: string; port: number };
  token: string;
  /** One line per refused or failed tunnel, for the user. */
  report(line: string, refusal: TunnelRefusal | undefined): void;
}

export interface TunnelRefusal {
  status: number;
  message: string;
}

export interface TcpClient {
  address: AddressInfo;
  close(): Promise<void>;
}

export async function startTcpClient(options: TcpClientOptions): Promise<TcpClient> {
  const server: Server = createServer({ allowHalfOpen: true }, (local) => tunnel(local, options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function tunnel(local: Socket, options: TcpClientOptions): void {
  local.on('error', () => local.destroy());
  const { proxyUrl, authority } = options;
  const send = proxyUrl.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send({
    host: proxyUrl.hostname.replace(/^\[|\]$/g, ''),
    port: proxyUrl.port || (proxyUrl.protocol === 'https:' ? 443 : 80),
    servername: proxyUrl.protocol === 'https:' ? proxyUrl.hostname : undefined,
    method: 'CONNECT',
    path: authority,
    headers: { host: authority, 'proxy-authorization': `Bearer ${options.token}` },
    agent: false,
  });
  req.on('connect', (res: IncomingMessage, remote: Socket, head: Buffer) => {
    if (res.statusCode !== 200) return refused(res.statusCode ?? 0, remote, head, local, options);
    remote.on('error', () => local.destroy());
    if (head.length > 0) local.write(head);
    remote.pipe(local);
    local.pipe(remote);
    remote.once('close', () => local.destroy());
    local.once('close', () => remote.destroy());
  });
  req.on('error', (err: Error & { code?: string }) => {
    options.report(`cannot reach Vallum at ${proxyUrl.origin}: ${err.code ?? err.message}`, undefined);
    local.destroy();
  });
  local.once('close', () => req.destroy());
  req.end();
}

function refused(status: number, remote: Socket, head: Buffer, local: Socket, options: TcpClientOptions): void {
  let body = head.toString('utf8');
  remote.setEncoding('utf8');
  remote.on('data', (chunk: string) => {
    if (body.length < 4096) body += chunk;
  });
  remote.on('error', () => {});
  remote.once('close', () => {
    local.destroy();
    const message = body.trim() || `status ${status}`;
    const why =
      status === 407
        ? 'not signed in'
        : status === 403
          ? 'access denied'
          : status === 404
            ? `no tcp route for ${options.authority}`
            : status >= 500
              ? 'the upstream is unreachable'
              : 'refused';
    options.report(`tunnel to ${options.authority} refused (${status}, ${why}): ${message}`, { status, message });
  });
}
