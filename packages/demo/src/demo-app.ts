// The upstream application Vallum protects in the demo: echoes the forwarded identity as HTML or JSON.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAssertionVerifier } from './assertion.js';
import { renderAppPage, type WhoAmI } from './app-page.js';
import { closeServer, listen, originOf, sendHtml, sendJson } from './http-server.js';

export interface DemoAppOptions {
  port?: number;
  host?: string;
  /** Vallum's JWKS, e.g. `https://vallum.example/.well-known/vallum/jwks.json`. */
  jwksUrl: string;
  /** Expected `aud` of the assertion; defaults to the request's Host header, lower-cased. */
  audience?: string;
}

export interface DemoApp {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startDemoApp(options: DemoAppOptions): Promise<DemoApp> {
  const verify = createAssertionVerifier(options.jwksUrl);
  const host = options.host ?? '127.0.0.1';

  const whoami = async (req: IncomingMessage): Promise<WhoAmI> => ({
    email: single(req.headers['x-vallum-claim-email']),
    groups: single(req.headers['x-vallum-claim-groups']),
    jwt: await verify(single(req.headers['x-vallum-jwt-assertion']) ?? undefined, options.audience ?? audienceOf(req.headers)),
    headers: req.headers,
  });

  const { server, port } = await listen(
    (req, res) => {
      const path = req.url ?? '/';
      if (new URL(path, 'http://app.invalid').pathname === '/api/events') return streamEvents(req, res);
      whoami(req)
        .then((identity) => {
          if (new URL(path, 'http://app.invalid').pathname === '/api/whoami') sendJson(res, 200, identity);
          else sendHtml(res, 200, renderAppPage(identity, req.method ?? 'GET', path));
        })
        .catch(() => sendHtml(res, 500, 'demo app failed'));
      req.resume();
    },
    host,
    options.port ?? 0,
  );

  return { url: originOf(host, port), port, close: () => closeServer(server) };
}

function single(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The host the user opened: a proxy rewrites Host to the upstream's and names the original in X-Forwarded-Host. */
function audienceOf(headers: import('node:http').IncomingHttpHeaders): string {
  const forwarded = single(headers['x-forwarded-host']);
  return (forwarded ?? headers.host ?? '').split(',')[0]!.trim().toLowerCase();
}

/** Server-sent events, a tick every half second until the client (or Vallum) closes the stream. */
function streamEvents(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  let n = 0;
  const timer = setInterval(() => res.write(`data: tick ${++n}\n\n`), 500);
  res.write(': open\n\n');
  res.on('close', () => clearInterval(timer));
  req.resume();
}
