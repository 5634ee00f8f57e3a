// `vallum service-account create|list|revoke`: bearer tokens for scripts and services. A token is signed with a key
// derived from the deployment's shared_secret, so every proxy accepts it; it is recorded in the deployment's store
// (see service-account-store.ts) so it can be listed, and revoked by its jti before it expires.
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { ConfigError, parseDuration, type VallumConfig } from '@vallum/config';
import { createApiTokenCodec, type ApiTokenRecord } from '@vallum/session';
import { revokeApiTokenUntilExpiry } from '@vallum/service-client';
import { loadVallumConfig } from './load.js';
import { NO_STORE, openTokenStore } from './service-account-store.js';

const USAGE = `usage:
  vallum service-account create --name NAME --expires DURATION (e.g. 30d, 12h) [--groups a,b] [--description TEXT] --config FILE
  vallum service-account list [--json] --config FILE
  vallum service-account revoke JTI --config FILE

create prints the token on stdout and its jti on stderr. The token is recorded in the deployment's store so that
list shows it: Redis at cache.redis_url, else the cache service at cache_service_url; while that store cannot be
reached, create fails rather than issue a token nobody can list. list and revoke use that store too; revoking puts the jti on a deny list that every proxy
honours within a second. --expires may not exceed service_account_max_lifetime (default 90d), and a token older
than that is refused when used. When the config has neither setting (sessions in one process's memory), use the
admin API of the running vallum: GET /.vallum/admin/v1/service-accounts/tokens and
DELETE /.vallum/admin/v1/service-accounts/tokens/JTI.`;
const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

type Values = { name?: string; expires?: string; groups?: string; description?: string; config?: string; json?: boolean; help?: boolean };

export async function run(argv: string[]): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        expires: { type: 'string' },
        groups: { type: 'string' },
        description: { type: 'string' },
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [action, ...rest] = positionals;
  const file = values.config ?? process.env.VALLUM_CONFIG;
  const problems: string[] = [];
  if (action === 'create' && rest.length === 0) {
    if (!values.name || !NAME.test(values.name)) problems.push('--name must be lower-case letters, digits, ".", "_" or "-"');
    try {
      parseDuration(values.expires ?? '');
    } catch {
      problems.push('--expires must be a duration like 30d, 12h or 90m');
    }
  } else if (action === 'list' && rest.length === 0) {
    // nothing else to check
  } else if (action === 'revoke' && rest.length === 1) {
    if (!rest[0] || rest[0].length > 256) problems.push('revoke takes the jti that create printed or list shows');
  } else {
    problems.push(`unknown action '${positionals.join(' ')}' (create, list, or revoke JTI)`);
  }
  if (!file) problems.push('--config FILE is required (the token is signed with its shared_secret)');
  if (problems.length) return usageError(problems.join('; '));
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

function usageError(message: string): number {
  console.error(`vallum service-account: ${message}\n${USAGE}`);
  return 2;
}

async function create(config: VallumConfig, values: Values): Promise<number> {
  const lifetime = parseDuration(values.expires!);
  if (lifetime > config.serviceAccountMaxLifetimeMs) {
    return usageError(`--expires may be at most service_account_max_lifetime (${Math.floor(config.serviceAccountMaxLifetimeMs / 3_600_000)}h): rotate service-account tokens`);
  }
  const now = Date.now();
  const record: ApiTokenRecord = {
    jti: randomUUID(),
    subject: values.name!,
    groups: (values.groups ?? '').split(',').map((g) => g.trim()).filter(Boolean),
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
  const token = await createApiTokenCodec(config.sharedSecret).sign({ kind: 'service-account', name: record.subject, groups: record.groups, expiresAt: record.expiresAt, jti: record.jti, issuedAt: record.issuedAt });
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
    console.log(JSON.stringify(tokens.map((t) => ({ ...t, issuedAt: iso(t.issuedAt), expiresAt: iso(t.expiresAt), revokedAt: t.revokedAt === undefined ? undefined : iso(t.revokedAt) })), null, 2));
    return 0;
  }
  console.log(['JTI', 'NAME', 'GROUPS', 'ISSUED', 'EXPIRES', 'STATUS', 'DESCRIPTION'].join('\t'));
  for (const t of tokens) {
    const status = t.revokedAt !== undefined ? `revoked ${iso(t.revokedAt)}` : t.issuedAt + config.serviceAccountMaxLifetimeMs <= Date.now() ? 'too old' : 'active';
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
