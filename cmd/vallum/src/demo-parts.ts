// The demo IdP and the demo app on their own, one per process: the `idp` and `app` containers of docker-compose.yml
// run `vallum demo-idp` and `vallum demo-app`. Options come in already parsed; main.ts reads argv and env.
import { startDemoApp, startDemoIdp, type DemoApp, type DemoIdp } from '@vallum/demo';
import { VallumError, ErrorCodes } from '@vallum/errors';

export interface DemoIdpCommandOptions {
  port: number;
  host: string;
  /** Defaults to http://HOST:PORT; set it when browsers and containers reach the IdP under another name. */
  issuer?: string;
  clientId: string;
  /** Read from the environment by the caller: never from argv, where `ps` would show it. */
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

export interface DemoAppCommandOptions {
  port: number;
  host: string;
  jwksUrl: string;
  audience?: string;
}

export class DemoUsageError extends VallumError {
  constructor(message: string) {
    super(ErrorCodes.CONFIG_INVALID, message, { status: 500, expose: false });
    this.name = 'DemoUsageError';
  }
}

/** A TCP port from a flag: an integer 0–65535 (0 = any free port). */
export function parsePort(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(port) || port > 65_535) {
    throw new DemoUsageError(`--${flag} must be a port number (0-65535); got '${value}'`);
  }
  return port;
}

export async function startDemoIdpPart(options: DemoIdpCommandOptions): Promise<DemoIdp> {
  if (options.clientSecret === '') throw new DemoUsageError('the demo IdP client secret is empty');
  if (options.redirectUris.length === 0) throw new DemoUsageError('demo-idp needs at least one --redirect-uri');
  for (const uri of [...options.redirectUris, ...options.postLogoutRedirectUris]) {
    if (!URL.canParse(uri)) throw new DemoUsageError(`'${uri}' is not an absolute URL`);
  }
  return startDemoIdp({
    port: options.port,
    host: options.host,
    issuer: options.issuer,
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: options.redirectUris,
        post_logout_redirect_uris: options.postLogoutRedirectUris,
      },
    ],
  });
}

export async function startDemoAppPart(options: DemoAppCommandOptions): Promise<DemoApp> {
  if (!URL.canParse(options.jwksUrl)) throw new DemoUsageError(`--jwks-url '${options.jwksUrl}' is not an absolute URL`);
  return startDemoApp({ port: options.port, host: options.host, jwksUrl: options.jwksUrl, audience: options.audience });
}

/** One JSON log line, like the services print when they listen. */
export function listeningLine(service: 'demo-idp' | 'demo-app', url: string, extra: Record<string, string> = {}): string {
  return JSON.stringify({ level: 30, service, ...extra, msg: `vallum ${service} listening on ${url}` });
}
