// Shared pieces of the proxy tests: Vallum in this process with public routes (the IdP is never needed), and
// plain node:http upstreams on loopback.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type Dispatcher } from 'undici';
import { loadVallumConfigText, startVallum, type RunningVallum } from '@vallum/cmd';
import { getFreePort, startHttpUpstream, type HttpUpstream } from '@vallum/testing';

export type TestUpstream = HttpUpstream;
export const startUpstream = startHttpUpstream;

export interface TestProxy {
  vallum: RunningVallum;
  port: number;
  configText(routes: string): string;
  call(host: string, path: string, init?: CallInit): Promise<Dispatcher.ResponseData>;
  close(): Promise<void>;
}

export interface CallInit {
  method?: string;
  body?: string | Buffer | NodeJS.ReadableStream;
  headers?: Record<string, string | string[]>;
}

/** `routes(port)` returns the YAML list items under `routes:`; `top` adds top-level keys. */
export async function startProxy(routes: (port: number) => string, top = ''): Promise<TestProxy> {
  const port = await getFreePort();
  const idpPort = await getFreePort();
  const configText = (r: string) => `authenticate_service_url: http://authenticate.localhost:${port}
idp:
  issuer: http://127.0.0.1:${idpPort}
  client_id: vallum
  client_secret: secret
  allow_insecure_http: true
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
log_level: silent
${top}
routes:
${r}`;
  const vallum = await startVallum(loadVallumConfigText(configText(routes(port)), 'vallum.yaml', { env: {} }), { address: `127.0.0.1:${port}`, logger: false });
  return {
    vallum,
    port,
    configText: configText,
    call: (host, path, init = {}) =>
      request(`http://127.0.0.1:${port}${path}`, {
        method: (init.method ?? 'GET') as 'GET',
        body: init.body as string | undefined,
        headers: { host: `${host}:${port}`, ...init.headers },
      }),
    close: () => vallum.close(),
  };
}

/** A public route for `host` on the proxy port; `to` is one URL or a list (entries may carry `,weight`). */
export const publicRoute = (host: string, port: number, to: string | string[], extra = '') =>
  `  - from: http://${host}:${port}
    to: ${JSON.stringify(to)}
    allow_public_unauthenticated_access: true
${extra.replace(/^/gm, '    ')}
`;

/** A vallum.yaml in a new temp directory for a `vallum` process on `port` with public routes (no IdP is needed). */
export function writeProxyConfig(port: number, top: string, routes: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vallum-proxy-')), 'vallum.yaml');
  writeFileSync(
    file,
    `address: 127.0.0.1:${port}
authenticate_service_url: http://authenticate.localhost:${port}
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: secret, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
${top}
routes:
${routes}`,
  );
  return file;
}
