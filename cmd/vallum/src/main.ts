// The `vallum` command: the only file that touches the process (argv, env, signals, exit codes).
import { readFileSync } from 'node:fs';
import { SERVICE_NAMES, ConfigError, type ServiceName } from '@vallum/config';
import { isVallumError } from '@vallum/errors';
import { loadVallumConfig, loadVallumConfigOffThread } from './load.js';
import { startVallum } from './start-vallum.js';
import { watchConfigFile } from './watch-config.js';
import { createGarbagePacer, restoreHeapGrowth } from './process-memory.js';
import { createLogger } from '@vallum/telemetry';
import { UsageError, formatHelp, parseCommandArgs, usageLine, type CommandHelp } from './cli-usage.js';
import { environmentHelp } from './env-variables.js';
import type { DemoValues } from './demo-command.js';
import { isWorker, joinPrimary, resolveWorkers, startWorkers } from './workers.js';
import { shareRateLimits } from '@vallum/config';

const COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['(none)', 'run Vallum: all services in one process, or the one named by --service'],
  ['validate', 'check a configuration file and report every problem with file:line:col'],
  ['policy', 'explain a decision, run policy fixtures, or diff two policies (explain|test|diff)'],
  ['service-account', 'bearer tokens for scripts and services (create|list|revoke)'],
  ['gen-secret', 'print a random secret for shared_secret / cookie_secret'],
  ['tcp', 'a local port that reaches a tcp route (database, SSH) through Vallum'],
  ['demo', 'the all-in-one demo: Vallum, a demo IdP and a demo app on loopback'],
  ['demo-idp', 'the demo identity provider alone (compose uses it)'],
  ['demo-app', 'the demo upstream app alone (compose uses it)'],
];

const TOP_HELP: CommandHelp = {
  usage:
    'vallum [--config FILE] [--service all|proxy|authenticate|authorize|cache] [--address HOST:PORT] [--workers N|auto]\nvallum COMMAND [options]     (vallum COMMAND --help)',
  summary: 'Vallum, an identity-aware access proxy.',
  options: [
    ['-c, --config FILE', 'the configuration file (or VALLUM_CONFIG)'],
    ['--service NAME', `which service this process runs: all, ${SERVICE_NAMES.join(', ')} (default: the file's services, else all)`],
    ['--address HOST:PORT', 'listen here instead of the configured address'],
    ['--workers N|auto', 'processes sharing the listener, auto = one per core (all and proxy; default: the file, else 1)'],
    ['-V, --version', 'print the version'],
    ['-h, --help', 'show this help'],
  ],
  notes: [
    'commands:',
    ...COMMANDS.map(([name, text]) => `  ${name.padEnd(16)}  ${text}`),
    '',
    environmentHelp(),
    '',
    'exit codes: 0 ok; 1 the configuration or a runtime step failed; 2 bad usage',
  ].join('\n'),
  examples: [
    'vallum --config vallum.yaml',
    'vallum --config vallum.yaml --service proxy --address 0.0.0.0:8443',
    'vallum --config vallum.yaml --workers auto',
    'vallum validate --config vallum.yaml',
    'vallum demo',
  ],
};

const RUN_OPTIONS = {
  config: { type: 'string', short: 'c' },
  service: { type: 'string' },
  address: { type: 'string' },
  workers: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

const VALIDATE_OPTIONS = { config: RUN_OPTIONS.config, help: RUN_OPTIONS.help } as const;

const VALIDATE_HELP: CommandHelp = {
  usage: 'vallum validate --config FILE',
  summary:
    'Load and check a configuration file (schema, secrets, routes, policies) without starting anything.\nEvery problem is reported at once, each with file:line:col; the exit code is 0 when the file is valid, 1 when not.',
  options: [
    ['-c, --config FILE', 'the configuration file (or VALLUM_CONFIG)'],
    ['-h, --help', 'show this help'],
  ],
  examples: ['vallum validate --config vallum.yaml', 'VALLUM_SHARED_SECRET="$(vallum gen-secret)" vallum validate --config deploy/compose/vallum.yaml'],
};

const DEMO_HELP: Record<'demo' | 'demo-idp' | 'demo-app', CommandHelp> = {
  demo: {
    usage: 'vallum demo [--port 8000] [--idp-port 8010] [--app-port 8020]',
    summary: 'Start Vallum, a demo identity provider and a demo app on loopback, and print where to sign in.',
    options: [
      ['--port N', 'Vallum (default 8000)'],
      ['--idp-port N', 'the demo IdP (default 8010)'],
      ['--app-port N', 'the demo app (default 8020)'],
      ['-h, --help', 'show this help'],
    ],
    examples: ['vallum demo', 'vallum demo --port 9000 --idp-port 9010 --app-port 9020'],
  },
  'demo-idp': {
    usage:
      'vallum demo-idp --redirect-uri URL... [--port 8010] [--host 127.0.0.1] [--issuer URL] [--client-id vallum]\n                [--client-secret-env DEMO_CLIENT_SECRET] [--post-logout-redirect-uri URL...]',
    summary: 'Start the demo identity provider alone. The client secret is read from the environment, never from argv.',
    options: [
      ['--port N', 'listen port (default 8010)'],
      ['--host HOST', 'listen host (default 127.0.0.1)'],
      ['--issuer URL', 'the issuer URL clients see (default http://HOST:PORT)'],
      ['--client-id ID', 'the client id (default vallum)'],
      ['--client-secret-env NAME', 'the environment variable holding the client secret (default DEMO_CLIENT_SECRET)'],
      ['--redirect-uri URL', 'an allowed redirect URI (repeatable)'],
      ['--post-logout-redirect-uri URL', 'an allowed post-logout redirect URI (repeatable)'],
      ['-h, --help', 'show this help'],
    ],
    examples: ['DEMO_CLIENT_SECRET="$(vallum gen-secret)" vallum demo-idp --redirect-uri http://authenticate.localhost:8000/oauth2/callback'],
  },
  'demo-app': {
    usage: 'vallum demo-app --jwks-url URL [--port 8020] [--host 127.0.0.1] [--audience HOST]',
    summary: "Start the demo upstream app alone: it shows the identity Vallum passes and checks Vallum's signed assertion.",
    options: [
      ['--jwks-url URL', "Vallum's JWKS, to verify X-Vallum-Jwt-Assertion"],
      ['--port N', 'listen port (default 8020)'],
      ['--host HOST', 'listen host (default 127.0.0.1)'],
      ['--audience HOST', 'the expected audience of the assertion'],
      ['-h, --help', 'show this help'],
    ],
    examples: ['vallum demo-app --jwks-url http://authenticate.localhost:8000/.well-known/vallum/jwks.json'],
  },
};

const DEMO_OPTIONS = {
  demo: { port: { type: 'string' }, 'idp-port': { type: 'string' }, 'app-port': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  'demo-idp': {
    port: { type: 'string' },
    host: { type: 'string' },
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret-env': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  },
  'demo-app': {
    port: { type: 'string' },
    host: { type: 'string' },
    'jwks-url': { type: 'string' },
    audience: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
} as const;

/** Commands that parse their own options, loaded only when used: `vallum NAME ...argv`. */
const SUBCOMMANDS: Record<string, () => Promise<{ run(argv: string[]): number | Promise<number> }>> = {
  policy: () => import('./policy-command.js'),
  'service-account': () => import('./service-account-command.js'),
  'gen-secret': () => import('./gen-secret-command.js'),
};

function validate(argv: string[]): number {
  const { values } = parseCommandArgs('validate', argv, VALIDATE_OPTIONS);
  if (values.help) {
    console.log(formatHelp(VALIDATE_HELP));
    return 0;
  }
  const file = values.config ?? process.env.VALLUM_CONFIG;
  if (!file) throw new UsageError('validate', '--config FILE is required (or set VALLUM_CONFIG)');
  const config = loadVallumConfig(file);
  console.log(`${file}: ok (${config.routes.length} routes)`);
  return 0;
}

function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log(formatHelp(TOP_HELP));
    return 0;
  }
  const subcommand = first ? SUBCOMMANDS[first] : undefined;
  if (subcommand) return (await subcommand()).run(argv.slice(1));
  if (first === 'demo' || first === 'demo-idp' || first === 'demo-app') {
    const { values } = parseCommandArgs(first, argv.slice(1), DEMO_OPTIONS[first]);
    if (values.help) {
      console.log(formatHelp(DEMO_HELP[first]));
      return 0;
    }
    // Loaded only for the demo, so a production start never loads oidc-provider.
    const { runDemoCommand } = await import('./demo-command.js');
    return runDemoCommand(first, values as DemoValues, { onSignal });
  }
  if (first === 'validate') return validate(argv.slice(1));
  if (first === 'tcp') return (await import('./tcp-command.js')).runTcpCommand(argv.slice(1), { env: process.env, onSignal });
  if (first !== undefined && !first.startsWith('-')) throw new UsageError('', `unknown command '${first}'`);
  const { values, positionals } = parseCommandArgs('', argv, RUN_OPTIONS, true);
  if (values.version) {
    console.log(`vallum ${version()}`);
    return 0;
  }
  if (values.help) {
    console.log(formatHelp(TOP_HELP));
    return 0;
  }
  // `vallum --config FILE validate` worked before commands had their own options; it still does.
  if (positionals.length > 0) {
    if (
      positionals.length === 1 &&
      positionals[0] === 'validate' &&
      values.service === undefined &&
      values.address === undefined &&
      values.workers === undefined
    ) {
      return validate(values.config === undefined ? [] : ['--config', values.config]);
    }
    throw new UsageError('', `unknown command '${positionals.join(' ')}'`);
  }
  const file = values.config ?? process.env.VALLUM_CONFIG;
  if (!file) throw new UsageError('', '--config FILE is required (or set VALLUM_CONFIG)');
  const config = loadVallumConfig(file);
  const service = (values.service ?? process.env.VALLUM_SERVICES ?? config.services) as ServiceName | 'all';
  if (service !== 'all' && !SERVICE_NAMES.includes(service)) {
    throw new UsageError('', `--service must be one of all, ${SERVICE_NAMES.join(', ')}; got '${service}'`);
  }
  // --- workers (workers.ts): with --workers N this process is the primary, and forks N workers that run this again.
  const workers = resolveWorkers(values.workers, config.workers, service);
  const worker = isWorker() ? await joinPrimary() : undefined;
  const forWorkers = (loaded: typeof config) => (worker ? shareRateLimits(loaded, worker.workers) : loaded);
  const log = createLogger({ service: service === 'all' ? 'vallum' : service, level: config.logLevel, format: config.logFormat });
  const primary = workers > 1 && !worker;
  const serving = primary
    ? undefined
    : await startVallum(forWorkers(config), {
        service,
        address: values.address,
        garbagePacer: createGarbagePacer(),
        sharedCache: worker?.sharedCache,
        metricsFromPrimary: worker !== undefined,
      });
  const running = serving ?? (await startWorkers(config, { service, workers, log }));
  // --- end workers
  const applyConfig = async (next: typeof config) => {
    const { notApplied } = await running.reload(forWorkers(next));
    for (const change of notApplied) log.warn({ file }, `configuration change not applied: ${change}`);
    log.info({ file, routes: next.routes.length }, 'configuration reloaded');
  };
  const reloadFailed = (err: unknown) =>
    log.error({ file, error: err instanceof Error ? err.message : String(err) }, 'configuration not reloaded; the running one stays in force');
  // --- workers: a worker reloads when the primary says so; the primary alone watches the file and logs the start.
  if (worker) {
    worker.onReload(() => {
      void loadVallumConfigOffThread(file).then(applyConfig).catch(reloadFailed);
    });
    if (serving?.metrics) worker.serveMetrics(serving.metrics);
    worker.listening(running.url);
    // The primary reloads every worker; a SIGHUP to the whole process group must not end this one (its default).
    process.on('SIGHUP', () => {});
    // The primary passes SIGTERM on; this worker drains as a single process does.
    // A Ctrl-C or a cgroup-wide SIGTERM reaches it as well as the primary's: the second must not cut the drain short
    // (the primary's own deadline kills a worker that never finishes).
    onSignal(() => running.shutdown(), { again: 'ignore' });
    return -1;
  }
  // --- end workers
  log.info(`vallum ${running.service} listening on ${running.url}${workers > 1 ? ` (${workers} workers)` : ''}`);
  const watcher = watchConfigFile(file, { onConfig: applyConfig, onError: reloadFailed });
  // --- signals (lifecycle) ---
  process.on('SIGHUP', () => {
    log.info({ file }, 'SIGHUP: reloading the configuration');
    void watcher.reload();
  });
  onSignal(async (signal) => {
    log.info({ signal }, 'shutting down: not ready from now on, requests in flight may finish');
    watcher.close();
    await running.shutdown();
    log.info('stopped');
  });
  // --- end signals ---
  return -1;
}

/** SIGTERM or SIGINT runs `close` and exits 0 (1 if it fails); a second one exits 1 at once. */
function onSignal(close: (signal: NodeJS.Signals) => Promise<void>, options: { again: 'exit' | 'ignore' } = { again: 'exit' }): void {
  let closing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (closing) {
        if (options.again === 'exit') process.exit(1);
        return;
      }
      closing = true;
      close(signal).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
    // Running now, everything loaded: let the young generation grow with load again.
    restoreHeapGrowth();
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(usageLine(err));
      process.exit(2);
    }
    if (err instanceof ConfigError) console.error(`vallum: ${err.message}`);
    else if (isVallumError(err)) console.error(`vallum: ${err.code}: ${err.message}`);
    else console.error('vallum: fatal:', err);
    process.exit(1);
  },
);
