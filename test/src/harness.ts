// The whole system on loopback for cross-service tests: a real oidc-provider, the demo app as upstream, optionally
// a real redis-server, and Vallum either all-in-one in this process or as four separate processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoConfigYaml, loadVallumConfigText, startVallum, watchConfigFile } from '@vallum/cmd';
import type { HotPathCounters } from '@vallum/session';
import { getFreePort, startDemoApp, startDemoIdp, startRedis, type DemoIdp, type DemoIdpOptions, type RedisServer } from '@vallum/testing';

/** A loaded machine (a parallel test file building a stack, a browser) can take a process many seconds to start. */
const START_TIMEOUT_MS = 45_000;

export const VALLUM_BIN = fileURLToPath(new URL('../../cmd/vallum/bin/vallum.js', import.meta.url));

export interface StackOptions {
  mode: 'all-in-one' | 'split';
  redis?: boolean;
  /** A Redis the test started itself (a Cluster, a Sentinel setup): `cache.redis_url`, instead of `redis`. */
  redisUrl?: string;
  /** Changes the generated vallum.yaml (e.g. a route's policy). */
  editConfig?: (text: string) => string;
  /** Files written next to vallum.yaml (e.g. `policies/NAME.yaml`). */
  files?: Record<string, string>;
  /** All-in-one: hot-reload the config and policy files as `vallum --config` does (split processes always do). */
  watch?: boolean;
  /** Demo IdP options: short access tokens, other users. */
  idp?: Pick<DemoIdpOptions, 'accessTokenTtlSeconds' | 'users' | 'extraClaims' | 'acrValues'>;
  /** YAML appended to the generated config: more route items first (it ends inside `routes`), then top-level keys. */
  configExtra?: string | ((ctx: { port: number; appUrl: string }) => string);
  /** More `routes:` items (YAML list entries) for the proxy port. */
  extraRoutes?: (port: number) => string;
  /** Split mode: the processes' log level (default warn); their output is kept for `logs()`. */
  logLevel?: string;
  /** All-in-one as `vallum --workers N` in its own process (VALLUM_WORKERS), its output kept for `logs()`. */
  workers?: number;
  /**
   * More demo IdPs, configured under `idps:` by these names with the same client and users as the default one. Each
   * listens on its own loopback address (127.0.0.2, …): browsers do not separate cookies by port, and oidc-provider's
   * cookie names would collide on one host.
   */
  extraIdps?: readonly string[];
  /** Every Vallum process gets a metrics listener on a free loopback port (see `metricsUrls`). */
  metrics?: boolean;
}

export interface Stack {
  /** Proxy port; route hosts are app/admin/public.localhost on it. */
  port: number;
  appUrl: string;
  adminUrl: string;
  publicUrl: string;
  authenticateUrl: string;
  proxyUrl: string;
  issuer: string;
  configText: string;
  /** The vallum.yaml every process loaded; named policy files sit beside it. */
  configFile: string;
  idp: DemoIdp;
  /** The `extraIdps` by name. */
  idps: Record<string, DemoIdp>;
  /** Starts the IdP again on its port with the same clients (after `idp.close()`), as `idp` from then on. */
  restartIdp(): Promise<DemoIdp>;
  redisUrl: string | undefined;
  /** The stack's redis-server, to stop and restart it (`redis` option). */
  redis: RedisServer | undefined;
  /** The secret IdP tokens are sealed with in Redis, to read the store as the cache service does. */
  tokenSecret: string;
  /** Split mode: the cache service's own URL (its HTTP API, behind service tokens). */
  cacheUrl: string | undefined;
  /** Split mode: the authorize service's own URL. */
  authorizeUrl: string | undefined;
  /** All-in-one: the running process's hot-path counters. */
  counters: HotPathCounters | undefined;
  /** With `workers`: the primary process. */
  primary: ChildProcess | undefined;
  /** With `metrics`: each process's metrics listener (`all` in all-in-one mode), e.g. http://127.0.0.1:9090 */
  metricsUrls: Partial<Record<'all' | 'proxy' | 'authenticate' | 'authorize' | 'cache', string>>;
  /** Split mode and `workers`: everything the processes wrote to stdout and stderr so far. */
  logs(): string;
  close(): Promise<void>;
}

/** The demo IdP's registration of Vallum (`client_id: vallum-demo`, as `demoConfigYaml` configures it). */
export function demoIdpClient(authenticateUrl: string, clientSecret: string): DemoIdpOptions['clients'][number] {
  return {
    client_id: 'vallum-demo',
    client_secret: clientSecret,
    redirect_uris: [`${authenticateUrl}/oauth2/callback`],
    post_logout_redirect_uris: [`${authenticateUrl}/.vallum/signed_out`],
    backchannel_logout_uri: `${authenticateUrl}/.vallum/backchannel_logout`,
  };
}

/**
 * Ports are picked free, then bound later by other processes; a parallel test file can take one in between. Such
 * a start is retried whole on new ports (bounded), rather than failing the test.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStackOnce(options);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error)?.message ?? err).includes('EADDRINUSE')) throw err;
    }
  }
}

async function startStackOnce(options: StackOptions): Promise<Stack> {
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const port = await getFreePort();
    const authPort = options.mode === 'split' ? await getFreePort() : port;
    const authenticateUrl = `http://authenticate.localhost:${authPort}`;
    const clientSecret = randomBytes(16).toString('hex');
    const idpOptions: DemoIdpOptions = { ...options.idp, clients: [demoIdpClient(authenticateUrl, clientSecret)] };
    // The IdPs, the app and Redis do not depend on each other, so they start at the same time.
    const parts = startingTogether(closers);
    let idp!: DemoIdp;
    const idpStarted = parts.add(startDemoIdp(idpOptions), () => idp.close());
    const extraStarted = (options.extraIdps ?? []).map((_, i) =>
      parts.add(startDemoIdp({ ...idpOptions, host: `127.0.0.${i + 2}` }), (extra) => extra.close()),
    );
    const appStarted = parts.add(startDemoApp({ jwksUrl: `http://127.0.0.1:${port}/.well-known/vallum/jwks.json` }), (app) => app.close());
    const redisStarted = options.redis && !options.redisUrl ? parts.add(startRedis(), (server) => server.stop()) : undefined;
    await parts.all();
    idp = await idpStarted;
    const extraIdps: Record<string, DemoIdp> = {};
    for (const [i, name] of (options.extraIdps ?? []).entries()) extraIdps[name] = await extraStarted[i]!;
    const app = await appStarted;
    const redis: RedisServer | undefined = await redisStarted;
    const redisUrl = options.redisUrl ?? redis?.url;
    const generated =
      demoConfigYaml({ port, issuer: idp.issuer, appUrl: app.url, clientSecret, authenticateUrl, redisUrl }) +
      (options.extraRoutes?.(port) ?? '') +
      (typeof options.configExtra === 'function' ? options.configExtra({ port, appUrl: app.url }) : (options.configExtra ?? '')) +
      extraIdpsYaml(extraIdps, clientSecret);
    const configText = options.editConfig ? options.editConfig(generated) : generated;
    const dir = mkdtempSync(join(tmpdir(), `vallum-${options.mode}-`));
    const file = join(dir, 'vallum.yaml');
    writeFileSync(file, configText);
    for (const [name, text] of Object.entries(options.files ?? {})) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }

    const loaded = loadVallumConfigText(configText, file);
    let output = '';
    let cacheUrl: string | undefined;
    let authorizeUrl: string | undefined;
    let counters: HotPathCounters | undefined;
    let primary: ChildProcess | undefined;
    const metricsUrls: Stack['metricsUrls'] = {};
    if (options.mode === 'all-in-one' && options.workers !== undefined) {
      const env: Record<string, string> = {
        VALLUM_ADDRESS: `127.0.0.1:${port}`,
        VALLUM_WORKERS: String(options.workers),
        VALLUM_LOG_LEVEL: options.logLevel ?? 'warn',
      };
      if (options.metrics) {
        const metricsPort = await getFreePort();
        env.VALLUM_METRICS_ADDRESS = `127.0.0.1:${metricsPort}`;
        metricsUrls.all = `http://127.0.0.1:${metricsPort}`;
      }
      const child = await spawnService(file, 'all', env, port, (text) => (output += text));
      primary = child;
      closers.push(() => stopChild(child));
    } else if (options.mode === 'all-in-one') {
      const vallum = await startVallum(loaded, { address: `127.0.0.1:${port}`, logger: false, ...(options.metrics ? { metricsAddress: '127.0.0.1:0' } : {}) });
      counters = vallum.counters;
      if (vallum.metricsUrl) metricsUrls.all = vallum.metricsUrl;
      closers.push(() => vallum.close());
      if (options.watch) {
        const watcher = watchConfigFile(file, { onConfig: (c) => vallum.reload(c), onError: () => {} });
        closers.push(async () => watcher.close());
      }
    } else {
      const authorizePort = await getFreePort();
      const cachePort = await getFreePort();
      cacheUrl = `http://127.0.0.1:${cachePort}`;
      authorizeUrl = `http://127.0.0.1:${authorizePort}`;
      const env = {
        VALLUM_AUTHORIZE_SERVICE_URL: `http://127.0.0.1:${authorizePort}`,
        VALLUM_CACHE_SERVICE_URL: `http://127.0.0.1:${cachePort}`,
        VALLUM_LOG_LEVEL: options.logLevel ?? 'warn',
      };
      // Each service starts on its own and waits for the others when it needs them, so all four start at once.
      const services = startingTogether(closers);
      for (const [service, p] of [
        ['cache', cachePort],
        ['authorize', authorizePort],
        ['authenticate', authPort],
        ['proxy', port],
      ] as const) {
        const metricsEnv: Record<string, string> = {};
        if (options.metrics) {
          const metricsPort = await getFreePort();
          metricsEnv.VALLUM_METRICS_ADDRESS = `127.0.0.1:${metricsPort}`;
          metricsUrls[service] = `http://127.0.0.1:${metricsPort}`;
        }
        services.add(
          spawnService(file, service, { ...env, ...metricsEnv, VALLUM_ADDRESS: `127.0.0.1:${p}` }, p, (text) => (output += text)),
          stopChild,
        );
      }
      await services.all();
    }
    const stack: Stack = {
      port,
      appUrl: `http://app.localhost:${port}/`,
      adminUrl: `http://admin.localhost:${port}/`,
      publicUrl: `http://public.localhost:${port}/`,
      authenticateUrl,
      proxyUrl: `http://127.0.0.1:${port}`,
      issuer: idp.issuer,
      configText,
      configFile: file,
      idp,
      idps: extraIdps,
      async restartIdp() {
        idp = await startDemoIdp({ ...idpOptions, port: stack.idp.port });
        stack.idp = idp;
        return idp;
      },
      redisUrl,
      redis,
      tokenSecret: loaded.tokenEncryptionSecret,
      cacheUrl,
      authorizeUrl,
      counters,
      primary,
      metricsUrls,
      logs: () => output,
      close,
    };
    return stack;
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Parts of a stack started at the same time: each one that starts gets its closer, also when another fails, so a
 * failed start leaves nothing running. `all()` waits for every one, then throws the first failure.
 */
function startingTogether(closers: Array<() => Promise<unknown>>) {
  const starts: Array<Promise<unknown>> = [];
  return {
    add<T>(start: Promise<T>, close: (part: T) => Promise<unknown>): Promise<T> {
      const started = start.then((part) => {
        closers.push(() => close(part));
        return part;
      });
      starts.push(started);
      return started;
    },
    async all(): Promise<void> {
      await Promise.allSettled(starts);
      await Promise.all(starts);
    },
  };
}

function extraIdpsYaml(idps: Record<string, DemoIdp>, clientSecret: string): string {
  const entries = Object.entries(idps);
  if (entries.length === 0) return '';
  const items = entries.map(
    ([name, idp]) =>
      `  ${name}:\n    issuer: ${idp.issuer}\n    client_id: vallum-demo\n    client_secret: ${clientSecret}\n    allow_insecure_http: true\n    display_name: IdP ${name.toUpperCase()}\n`,
  );
  return `idps:\n${items.join('')}`;
}

/** Starts `vallum --config FILE --service NAME` as its own process and waits (bounded) for its health endpoint. */
export async function spawnService(
  configFile: string,
  service: string,
  env: Record<string, string>,
  port: number,
  onOutput?: (text: string) => void,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [VALLUM_BIN, '--config', configFile, '--service', service], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const take = (d: Buffer) => {
    output += d.toString();
    onOutput?.(d.toString());
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${service} exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}${service === 'proxy' || service === 'all' ? '/.vallum/healthz' : '/healthz'}`, {
        signal: AbortSignal.timeout(1000),
      });
      if (res.ok) {
        await res.body?.cancel();
        return child;
      }
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`${service} did not start within ${START_TIMEOUT_MS / 1000} s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
