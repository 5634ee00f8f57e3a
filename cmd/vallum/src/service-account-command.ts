// `vallum service-account create|list|revoke`: bearer tokens for scripts and services. A token is signed with a key
// derived from the deployment's shared_secret, so every proxy accepts it; it is recorded in the deployment's store
// (see service-account-store.ts) so it can be listed, and revoked by its jti before it expires.
import { randomUUID } from 'node:crypto';
import { ConfigError, parseDuration, type VallumConfig } from '@vallum/config';
import { createApiTokenCodec, type ApiTokenRecord } from '@vallum/session';
import { revokeApiTokenUntilExpiry } from '@vallum/service-client';
import { loadVallumConfig } from './load.js';
import { NO_STORE, openTokenStore } from './service-account-store.js';
import { UsageError, formatHelp, parseCommandArgs, usageLine, type CommandHelp } from './cli-usage.js';

const STORE_NOTE = `create prints the token on stdout and its jti on stderr. The token is recorded in the deployment's store so that
list shows it: Redis at cache.redis_url, else the cache service at cache_service_url; while that store cannot be
reached, create fails rather than issue a token nobody can list. list and revoke use that store too; revoking puts the jti on a deny list that every proxy
honours within a second. --expires may not exceed service_account_max_lifetime (default 90d), and a token older
than that is refused when used. When the config has neither setting (sessions in one process's memory), use the
admin API of the running vallum: GET /.vallum/admin/v1/service-accounts/tokens and
DELETE /.vallum/admin/v1/service-accounts/tokens/JTI.`;

const CONFIG_OPTION = ['-c, --config FILE', 'the configuration file (or VALLUM_CONFIG); tokens are signed with its shared_secret'] as const;
const HELP_OPTION = ['-h, --help', 'show this help'] as const;

const HELP: CommandHelp = {
  usage: 'vallum service-account create|list|revoke [options]     (vallum service-account COMMAND --help)',
  summary: 'Bearer tokens for scripts and services, accepted by every proxy of the deployment.',
  notes: [
    'commands:',
    '  create  issue a token for a named account',
    '  list    the tokens issued, with their status',
    '  revoke  deny a token by its jti',
    '',
    STORE_NOTE,
  ].join('\n'),
  examples: [
    'vallum service-account create --name ci --expires 30d --groups engineering --config vallum.yaml',
    'vallum service-account list --config vallum.yaml',
    'vallum service-account revoke 0b8a1c5e-6f1d-4f43-9a3c-2a2b7c1d9e00 --config vallum.yaml',
  ],
};

const ACTIONS = {
  create: {
    options: {
      name: { type: 'string' },
      expires: { type: 'string' },
      groups: { type: 'string' },
      description: { type: 'string' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
    help: {
      usage: 'vallum service-account create --name NAME --expires DURATION [--groups a,b] [--description TEXT] --config FILE',
      summary: 'Issue a service-account token: the token on stdout, its jti and expiry on stderr.',
      options: [
        ['--name NAME', 'the account: lower-case letters, digits, ".", "_" or "-"'],
        ['--expires DURATION', 'its lifetime, e.g. 30d, 12h (at most service_account_max_lifetime, default 90d)'],
        ['--groups a,b', 'the groups policies see'],
        ['--description TEXT', 'shown by list'],
        CONFIG_OPTION,
        HELP_OPTION,
      ],
      examples: [
        'vallum service-account create --name ci --expires 30d --groups engineering --config vallum.yaml',
        'TOKEN="$(vallum service-account create --name backup --expires 12h --config vallum.yaml)"',
      ],
    },
  },
  list: {
    options: { json: { type: 'boolean' }, config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    help: {
      usage: 'vallum service-account list [--json] --config FILE',
      summary: "List the tokens recorded in the deployment's store, with their status (active, revoked, too old).",
      options: [['--json', 'print JSON instead of a table'], CONFIG_OPTION, HELP_OPTION],
      examples: ['vallum service-account list --config vallum.yaml', 'vallum service-account list --json --config vallum.yaml'],
    },
  },
  revoke: {
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    help: {
      usage: 'vallum service-account revoke JTI --config FILE',
      summary: 'Deny a token by the jti that create printed or list shows; every proxy honours it within a second.',
      options: [CONFIG_OPTION, HELP_OPTION],
      examples: ['vallum service-account revoke 0b8a1c5e-6f1d-4f43-9a3c-2a2b7c1d9e00 --config vallum.yaml'],
    },
  },
} as const satisfies Record<string, { options: object; help: CommandHelp }>;

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

type Values = { name?: string; expires?: string; groups?: string; description?: string; config?: string; json?: boolean; help?: boolean };

export async function run(argv: string[]): Promise<number> {
  const [action, ...args] = argv;
  if (action === '--help' || action === '-h') {
    console.log(formatHelp(HELP));
    return 0;
  }
  if (action !== 'create' && action !== 'list' && action !== 'revoke') {
    return usageError(
      action === undefined ? 'a command is required: create, list or revoke JTI' : `unknown command '${action}'; expected create, list or revoke JTI`,
    );
  }
  const { values, positionals: rest } = parseCommandArgs(`service-account ${action}`, args, ACTIONS[action].options, action === 'revoke') as {
    values: Values;
    positionals: string[];
  };
  if (values.help) {
    console.log(formatHelp(ACTIONS[action].help));
    return 0;
  }
  const file = values.config ?? process.env.VALLUM_CONFIG;
  const problems: string[] = [];
  if (action === 'create') {
    if (!values.name || !NAME.test(values.name)) problems.push('--name must be lower-case letters, digits, ".", "_" or "-"');
    try {
      parseDuration(values.expires ?? '');
    } catch {
      problems.push('--expires must be a duration like 30d, 12h or 90m');
    }
  } else if (action === 'revoke' && (rest.length !== 1 || !rest[0] || rest[0].length > 256)) {
    problems.push('revoke takes the jti that create printed or list shows');
  }
  if (!file) problems.push('--config FILE is required (the token is signed with its shared_secret)');
  if (problems.length) return usageError(problems.join('; '), action);
  try {
    const config = loadVallumConfig(file!);
    if (action === 'create') return await create(config, values);
    if (action === 'list') return await list(config, values.json === true);
    return await revoke(config, rest[0]!);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    if (err instanceof Error && 'code' in err && String(err.code).startsWith('VALLUM_')) {
      console.error(`vallum service-account: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

function usageError(message: string, action?: string): number {
  console.error(usageLine(new UsageError(action ? `service-account ${action}` : 'service-account', message)));
  return 2;
}

async function create(config: VallumConfig, values: Values): Promise<number> {
  const lifetime = parseDuration(values.expires!);
  if (lifetime > config.serviceAccountMaxLifetimeMs) {
    return usageError(
      `--expires may be at most service_account_max_lifetime (${Math.floor(config.serviceAccountMaxLifetimeMs / 3_600_000)}h): rotate service-account tokens`,
      'create',
    );
  }
  const now = Date.now();
  const record: ApiTokenRecord = {
    jti: randomUUID(),
    subject: values.name!,
    groups: (values.groups ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean),
    issuedAt: now,
    expiresAt: now + lifetime,
    ...(values.description ? { description: values.description } : {}),
  };
  // Seconds are what the token carries: the record must say the same.
  record.issuedAt = Math.floor(record.issuedAt / 1000) * 1000;
  record.expiresAt = Math.floor(record.expiresAt / 1000) * 1000;
  const store = await openTokenStore(config);
  if (store) {
    try {
      await store.recordApiToken(record);
    } finally {
      await store.close();
    }
  }
  const token = await createApiTokenCodec(config.sharedSecret).sign({
    kind: 'service-account',
    name: record.subject,
    groups: record.groups,
    expiresAt: record.expiresAt,
    jti: record.jti,
    issuedAt: record.issuedAt,
  });
  console.log(token);
  console.error(`jti ${record.jti}, expires ${new Date(record.expiresAt).toISOString()}${store ? '' : ` (not recorded: ${NO_STORE})`}`);
  return 0;
}

async function list(config: VallumConfig, json: boolean): Promise<number> {
  const store = await openTokenStore(config);
  if (!store) {
    console.error(`vallum service-account: ${NO_STORE}`);
    return 1;
  }
  let tokens: ApiTokenRecord[];
  try {
    tokens = (await store.listApiTokens()).sort((a, b) => a.issuedAt - b.issuedAt);
  } finally {
    await store.close();
  }
  if (json) {
    console.log(
      JSON.stringify(
        tokens.map((t) => ({
          ...t,
          issuedAt: iso(t.issuedAt),
          expiresAt: iso(t.expiresAt),
          revokedAt: t.revokedAt === undefined ? undefined : iso(t.revokedAt),
        })),
        null,
        2,
      ),
    );
    return 0;
  }
  console.log(['JTI', 'NAME', 'GROUPS', 'ISSUED', 'EXPIRES', 'STATUS', 'DESCRIPTION'].join('\t'));
  for (const t of tokens) {
    const status =
      t.revokedAt !== undefined ? `revoked ${iso(t.revokedAt)}` : t.issuedAt + config.serviceAccountMaxLifetimeMs <= Date.now() ? 'too old' : 'active';
    console.log([t.jti, t.subject, t.groups.join(',') || '-', iso(t.issuedAt), iso(t.expiresAt), status, t.description ?? ''].join('\t'));
  }
  return 0;
}

async function revoke(config: VallumConfig, jti: string): Promise<number> {
  const store = await openTokenStore(config);
  if (!store) {
    console.error(`vallum service-account: ${NO_STORE}`);
    return 1;
  }
  try {
    const { record } = await revokeApiTokenUntilExpiry(store, jti, config.serviceAccountMaxLifetimeMs);
    console.log(`revoked ${jti}${record ? ` (${record.subject})` : ' (not recorded here; denied until service_account_max_lifetime has passed)'}`);
    return 0;
  } finally {
    await store.close();
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
