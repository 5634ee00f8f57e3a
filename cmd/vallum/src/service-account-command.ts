// `vallum service-account create --name ci --expires 30d [--groups a,b] --config FILE`: prints a bearer token for
// scripts and services. Signed with a key derived from the deployment's shared_secret, so every proxy accepts it.
import { parseArgs } from 'node:util';
import { ConfigError, parseDuration } from '@vallum/config';
import { createApiTokenCodec } from '@vallum/session';
import { loadVallumConfig } from './load.js';

const USAGE = 'usage: vallum service-account create --name NAME --expires DURATION (e.g. 30d, 12h) [--groups a,b] --config FILE';
const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export async function run(argv: string[]): Promise<number> {
  let values: { name?: string; expires?: string; groups?: string; config?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: 'string' }, expires: { type: 'string' }, groups: { type: 'string' }, config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    console.error(`vallum service-account: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const problems: string[] = [];
  if (positionals[0] !== 'create' || positionals.length !== 1) problems.push(`unknown action '${positionals.join(' ')}' (only 'create')`);
  if (!values.name || !NAME.test(values.name)) problems.push('--name must be lower-case letters, digits, ".", "_" or "-"');
  let lifetime = 0;
  try {
    lifetime = parseDuration(values.expires ?? '');
  } catch {
    problems.push('--expires must be a duration like 30d, 12h or 90m');
  }
  if (lifetime > 366 * 86_400_000) problems.push('--expires may be at most 366d: rotate service-account tokens');
  const file = values.config ?? process.env.VALLUM_CONFIG;
  if (!file) problems.push('--config FILE is required (the token is signed with its shared_secret)');
  if (problems.length) {
    console.error(`vallum service-account: ${problems.join('; ')}\n${USAGE}`);
    return 2;
  }
  try {
    const config = loadVallumConfig(file!);
    const groups = (values.groups ?? '').split(',').map((g) => g.trim()).filter(Boolean);
    const token = await createApiTokenCodec(config.sharedSecret).sign({ kind: 'service-account', name: values.name!, groups, expiresAt: Date.now() + lifetime });
    console.log(token);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}
