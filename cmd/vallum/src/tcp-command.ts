// `vallum tcp HOST:PORT --listen 127.0.0.1:15432`: a local port that reaches a tcp route through Vallum. The token
// is VALLUM_TOKEN (a service account, for scripts), else the cached command-line login token, else a new
// command-line login (the browser hands a token to a one-shot loopback listener, see cli-login.ts in the proxy).
import { createServer } from 'node:http';
import { parseListenAddress } from '@vallum/config';
import { formatHelp, parseCommandArgs, UsageError, type CommandHelp } from './cli-usage.js';
import { createTokenCache, tokenCacheFile } from './cli-token-cache.js';
import { startTcpClient } from './tcp-client.js';

export const TCP_HELP: CommandHelp = {
  usage: 'vallum tcp HOST:PORT [--listen HOST:PORT] [--proxy-url URL] [--login-url URL]',
  summary: 'Listen on a local port and tunnel each connection to the tcp route HOST:PORT (its from: tcp+https://HOST:PORT) through Vallum, with HTTP CONNECT.',
  options: [
    ['--listen HOST:PORT', 'the local address to listen on (default 127.0.0.1:0, a free port, printed at start)'],
    ['--proxy-url URL', 'where Vallum listens (default https://HOST, port 443); http://... for a plain listener'],
    ['--login-url URL', 'the URL of a Vallum app route to sign in through when no token is cached (default: --proxy-url)'],
    ['-h, --help', 'show this help'],
  ],
  notes: [
    'token: VALLUM_TOKEN if set (e.g. from vallum service-account create), else the cached command-line login token',
    '($XDG_CACHE_HOME/vallum/tokens.json, else ~/.cache/vallum/tokens.json), else a new command-line login: open the',
    'printed URL in a browser, sign in and say yes; the token is cached for the next run. A token Vallum no longer',
    'accepts is dropped from the cache: run the command again to sign in.',
    'exit codes: 0 stopped by a signal; 1 could not listen or sign in; 2 bad usage',
  ].join('\n'),
  examples: [
    'vallum tcp db.corp.example.com:5432 --listen 127.0.0.1:15432   # then: psql -h 127.0.0.1 -p 15432',
    'vallum tcp redis.corp.example.com:6379 --listen 127.0.0.1:16379 --login-url https://app.corp.example.com',
    'VALLUM_TOKEN="$(cat ci.token)" vallum tcp db.corp.example.com:5432 --proxy-url http://127.0.0.1:8000',
  ],
};

const OPTIONS = {
  listen: { type: 'string' },
  'proxy-url': { type: 'string' },
  'login-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const AUTHORITY = /^(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/i;
const LOGIN_WAIT_MS = 5 * 60_000;

export interface TcpCommandContext {
  env: Readonly<Record<string, string | undefined>>;
  onSignal(close: () => Promise<void>): void;
}

/** Returns an exit code, or -1 while the listener keeps running. */
export async function runTcpCommand(argv: string[], ctx: TcpCommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('tcp', argv, OPTIONS, true);
  if (values.help) {
    console.log(formatHelp(TCP_HELP));
    return 0;
  }
  const authority = positionals[0]?.toLowerCase();
  if (positionals.length !== 1 || !authority || !AUTHORITY.test(authority)) {
    throw new UsageError('tcp', 'expected one HOST:PORT, the tcp route to reach (its from: without tcp+https://)');
  }
  const proxyUrl = urlOption('proxy-url', values['proxy-url'] ?? `https://${authority.replace(/:\d+$/, '')}`);
  const loginUrl = values['login-url'] === undefined ? proxyUrl : urlOption('login-url', values['login-url']);
  let listen: { host: string; port: number };
  try {
    listen = parseListenAddress(values.listen ?? '127.0.0.1:0', '--listen');
  } catch (err) {
    throw new UsageError('tcp', (err as Error).message);
  }

  const cache = createTokenCache(tokenCacheFile(ctx.env));
  const fromEnv = ctx.env.VALLUM_TOKEN?.trim();
  let token = fromEnv || cache.get(proxyUrl.origin);
  if (!token) {
    try {
      token = await commandLineLogin(loginUrl);
    } catch (err) {
      console.error(`vallum tcp: not signed in: ${(err as Error).message}`);
      return 1;
    }
    cache.set(proxyUrl.origin, token);
  }
  const client = await startTcpClient({
    authority,
    proxyUrl,
    listen,
    token,
    report: (line, refusal) => {
      console.error(`vallum tcp: ${line}`);
      if (refusal?.status === 407 && !fromEnv) {
        cache.forget(proxyUrl.origin);
        console.error('vallum tcp: the cached token was dropped; run vallum tcp again to sign in');
      }
    },
  }).catch((err: Error) => err);
  if (client instanceof Error) {
    console.error(`vallum tcp: cannot listen on ${values.listen ?? '127.0.0.1:0'}: ${client.message}`);
    return 1;
  }
  const { address, port } = client.address;
  console.log(`vallum tcp: listening on ${address}:${port}, tunnelling to ${authority} through ${proxyUrl.origin}`);
  ctx.onSignal(() => client.close());
  return -1;
}

function urlOption(name: string, value: string): URL {
  if (!URL.canParse(value)) throw new UsageError('tcp', `--${name} must be an http(s) URL, got '${value}'`);
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError('tcp', `--${name} must be an http(s) URL, got '${value}'`);
  return url;
}

/** The command-line login: a one-shot loopback listener the browser hands the token to, once the user says yes. */
async function commandLineLogin(loginUrl: URL): Promise<string> {
  let settle: { resolve(token: string): void; reject(err: Error): void } | undefined;
  const received = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  const listener = createServer((req, res) => {
    const token = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('vallum_token');
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    if (!token) {
      res.statusCode = 400;
      res.end('No token was handed over. Run the command again.\n');
      return;
    }
    res.end('Signed in: you can close this window and go back to the terminal.\n');
    settle?.resolve(token);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const timer = setTimeout(() => settle?.reject(new Error('no sign-in within 5 minutes')), LOGIN_WAIT_MS);
  try {
    const port = (listener.address() as { port: number }).port;
    const url = new URL('/.vallum/api/v1/login', loginUrl);
    url.searchParams.set('redirect_uri', `http://127.0.0.1:${port}/`);
    console.error(`vallum tcp: sign in by opening this URL in your browser:\n  ${url.href}`);
    return await received;
  } finally {
    clearTimeout(timer);
    listener.closeAllConnections();
    listener.close();
  }
}
