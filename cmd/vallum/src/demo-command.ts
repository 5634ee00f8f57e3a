// `vallum demo`, `vallum demo-idp` and `vallum demo-app`: the newcomer's demo and the compose demo containers.
import { demoBanner, startDemo } from './demo.js';
import { UsageError } from './cli-usage.js';
import { DemoUsageError, listeningLine, parsePort, startDemoAppPart, startDemoIdpPart } from './demo-parts.js';

export interface DemoValues {
  port?: string;
  'idp-port'?: string;
  'app-port'?: string;
  host?: string;
  issuer?: string;
  'client-id'?: string;
  'client-secret-env'?: string;
  'redirect-uri'?: string[];
  'post-logout-redirect-uri'?: string[];
  'jwks-url'?: string;
  audience?: string;
}

export interface DemoCommandContext {
  onSignal(close: () => Promise<void>): void;
}

/** Returns an exit code, or -1 while the demo keeps running. */
export async function runDemoCommand(command: string, values: DemoValues, ctx: DemoCommandContext): Promise<number> {
  const { onSignal } = ctx;
  try {
    if (command === 'demo') {
      const demo = await startDemo({
        port: parsePort('port', values.port, 8000),
        idpPort: parsePort('idp-port', values['idp-port'], 8010),
        appPort: parsePort('app-port', values['app-port'], 8020),
      });
      console.log(demoBanner(demo));
      onSignal(() => demo.close());
      return -1;
    }
    if (command === 'demo-idp') {
      // The secret comes from the environment only: argv is visible to every user of the machine in `ps`.
      const secretEnv = values['client-secret-env'] ?? 'DEMO_CLIENT_SECRET';
      const clientSecret = process.env[secretEnv];
      if (!clientSecret) {
        console.error(`vallum demo-idp: set the client secret in the environment variable ${secretEnv}`);
        return 2;
      }
      const idp = await startDemoIdpPart({
        port: parsePort('port', values.port, 8010),
        host: values.host ?? '127.0.0.1',
        issuer: values.issuer,
        clientId: values['client-id'] ?? 'vallum',
        clientSecret,
        redirectUris: values['redirect-uri'] ?? [],
        postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [],
      });
      console.log(listeningLine('demo-idp', `http://${values.host ?? '127.0.0.1'}:${idp.port}`, { issuer: idp.issuer }));
      onSignal(() => idp.close());
      return -1;
    }
    if (command === 'demo-app') {
      if (!values['jwks-url']) {
        throw new UsageError('demo-app', '--jwks-url URL is required');
      }
      const app = await startDemoAppPart({
        port: parsePort('port', values.port, 8020),
        host: values.host ?? '127.0.0.1',
        jwksUrl: values['jwks-url'],
        audience: values.audience,
      });
      console.log(listeningLine('demo-app', app.url));
      onSignal(() => app.close());
      return -1;
    }
  } catch (err) {
    if (!(err instanceof DemoUsageError)) throw err;
    throw new UsageError(command, err.message);
  }
  return 2;
}
