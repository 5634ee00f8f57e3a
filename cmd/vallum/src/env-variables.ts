// Every VALLUM_* environment variable Vallum reads, with what it stands for: `vallum --help` and the README's table
// are both generated from this list (a test compares the README with environmentTable()).
import { ENV_OVERRIDES } from '@vallum/config';

export interface EnvVariable {
  name: string;
  /** The setting (dotted path in vallum.yaml) or command-line option it stands for. */
  overrides: string;
}

export const ENV_VARIABLES: readonly EnvVariable[] = [
  { name: 'VALLUM_CONFIG', overrides: '--config (the configuration file)' },
  ...ENV_OVERRIDES.map(([name, path]) => ({ name, overrides: path.join('.') })),
];

export function environmentHelp(): string {
  const width = Math.max(...ENV_VARIABLES.map((v) => v.name.length));
  return ['environment (a variable wins over the file):', ...ENV_VARIABLES.map((v) => `  ${v.name.padEnd(width)}  ${v.overrides}`)].join('\n');
}

/** The README's "Environment variables" table. */
export function environmentTable(): string {
  return [
    '| variable | overrides |',
    '|---|---|',
    ...ENV_VARIABLES.map((v) => `| \`${v.name}\` | \`${v.overrides.replace(/ \(.*\)$/, '')}\`${/ \(.*\)$/.exec(v.overrides)?.[0] ?? ''} |`),
  ].join('\n');
}
