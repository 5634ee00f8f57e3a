// `vallum gen-secret`: a fresh random secret for shared_secret, cookie_secret or token_encryption_key.
import { randomBytes } from 'node:crypto';
import { formatHelp, parseCommandArgs, type CommandHelp } from './cli-usage.js';

// 32 random bytes are 44 base64 characters: above the schema's 32-character minimum for every secret.
const SECRET_BYTES = 32;

export const GEN_SECRET_HELP: CommandHelp = {
  usage: 'vallum gen-secret',
  summary: `Print a new random secret (${SECRET_BYTES} bytes, base64) for shared_secret, cookie_secret or token_encryption_key.`,
  options: [['-h, --help', 'show this help']],
  examples: [
    'vallum gen-secret',
    'export VALLUM_SHARED_SECRET="$(vallum gen-secret)"',
    'vallum gen-secret > /run/secrets/cookie_secret   # then cookie_secret_file: /run/secrets/cookie_secret',
  ],
};

export function generateSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64');
}

export function run(argv: string[]): number {
  const { values } = parseCommandArgs('gen-secret', argv, { help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    console.log(formatHelp(GEN_SECRET_HELP));
    return 0;
  }
  console.log(generateSecret());
  return 0;
}
