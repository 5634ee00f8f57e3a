// The `vallum` command: the only file that touches the process (argv, env, signals, exit codes).
import { parseArgs } from 'node:util';
import { SERVICE_NAMES, ConfigError, type ServiceName } from '@vallum/config';
import { isVallumError } from '@vallum/errors';
import { loadVallumConfig } from './load.js';
import { startVallum } from './start-vallum.js';
import { watchConfigFile } from './watch-config.js';
import { createGarbagePacer, restoreHeapGrowth } from './process-memory.js';
import { createLogger } from '@vallum/telemetry';

const USAGE = `usage:
  vallum --config FILE [--service all|proxy|authenticate|authorize|cache] [--address HOST:PORT]
  vallum validate --config FILE
  vallum policy explain|test|diff ...   (vallum policy --help)
  vallum demo [--port 8000] [--idp-port 8010] [--app-port 8020]
  vallum demo-idp [--port 8010] [--host 127.0.0.1] [--issuer URL] [--client-id vallum]
                  [--client-secret-env DEMO_CLIENT_SECRET] --redirect-uri URL... [--post-logout-redirect-uri URL...]
  vallum demo-app [--port 8020] [--host 127.0.0.1] --jwks-url URL [--audience HOST]`;

/** Commands that parse their own options, loaded only when used: `vallum NAME ...argv`. */
const SUBCOMMANDS: Record<string, () => Promise<{ run(argv: string[]): Promise<number> }>> = {
  policy: () => import('./policy-command.js'),
  'service-account': () => import('./service-account-command.js'),
};

async function main(argv: string[]): Promise<number> {
  const subcommand = argv[0] ? SUBCOMMANDS[argv[0]] : undefined;
  if (subcommand) return (await subcommand()).run(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      service: { type: 'string' },
      address: { type: 'string' },
      port: { type: 'string' },
      'idp-port': { type: 'string' },
      'app-port': { type: 'string' },
      host: { type: 'string' },
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret-env': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      'jwks-url': { type: 'string' },
      audience: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? 'run';
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (command === 'demo' || command === 'demo-idp' || command === 'demo-app') {
    // Loaded only for the demo, so a production start never loads oidc-provider.
    const { runDemoCommand } = await import('./demo-command.js');
    return runDemoCommand(command, values, { usage: USAGE, onSignal });
  }
  const file = values.config ?? process.env.VALLUM_CONFIG;
  if (!file) {
    console.error(`vallum: --config FILE is required\n${USAGE}`);
    return 2;
  }
  const config = loadVallumConfig(file);
  if (command === 'validate') {
    console.log(`${file}: ok (${config.routes.length} routes)`);
    return 0;
  }
  if (command !== 'run') {
    console.error(`vallum: unknown command '${command}'\n${USAGE}`);
    return 2;
  }
  const service = (values.service ?? process.env.VALLUM_SERVICES ?? config.services) as ServiceName | 'all';
  if (service !== 'all' && !SERVICE_NAMES.includes(service)) {
    console.error(`vallum: --service must be one of all, ${SERVICE_NAMES.join(', ')}; got '${service}'`);
    return 2;
  }
  const running = await startVallum(config, { service, address: values.address, garbagePacer: createGarbagePacer() });
  const log = createLogger({ service: running.service === 'all' ? 'vallum' : running.service, level: config.logLevel });
  log.info(`vallum ${running.service} listening on ${running.url}`);
  const watcher = watchConfigFile(file, {
    onConfig: async (next) => {
      const { notApplied } = await running.reload(next);
      for (const change of notApplied) log.warn({ file }, `configuration change not applied: ${change}`);
      log.info({ file, routes: next.routes.length }, 'configuration reloaded');
    },
    onError: (err) => log.error({ file, error: err instanceof Error ? err.message : String(err) }, 'configuration not reloaded; the running one stays in force'),
  });
  onSignal(async () => {
    watcher.close();
    await running.close();
  });
  return -1;
}

function onSignal(close: () => Promise<void>): void {
  let closing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (closing) process.exit(1);
      closing = true;
      close().then(
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
    if (err instanceof ConfigError) console.error(`vallum: ${err.message}`);
    else if (isVallumError(err)) console.error(`vallum: ${err.code}: ${err.message}`);
    else console.error('vallum: fatal:', err);
    process.exit(1);
  },
);
