// Usage errors and per-command help, shared by every `vallum` subcommand: a usage error is one line on stderr and
// exit code 2, never a stack trace.
import { parseArgs } from 'node:util';

type Options = Record<string, { readonly type: 'string' | 'boolean'; readonly short?: string; readonly multiple?: boolean }>;
type Value<T> = T extends { type: 'boolean' } ? Many<T, boolean> : Many<T, string>;
type Many<T, V> = T extends { multiple: true } ? V[] : V;
export interface ParsedCommandArgs<O extends Options> {
  values: { -readonly [K in keyof O]?: Value<O[K]> };
  positionals: string[];
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command words after `vallum` (e.g. `policy explain`), or '' for `vallum` itself. */
  readonly command: string;
  constructor(command: string, message: string) {
    super(message);
    this.command = command;
  }
}

/** The one line a usage error prints: what is wrong, and where the usage is. */
export function usageLine(err: UsageError): string {
  const prefix = err.command ? `vallum ${err.command}` : 'vallum';
  return `${prefix}: ${err.message} (see '${prefix} --help')`;
}

export interface CommandHelp {
  /** e.g. `vallum validate --config FILE` (one or more lines). */
  usage: string;
  summary: string;
  options?: ReadonlyArray<readonly [flag: string, text: string]>;
  examples: readonly string[];
  /** Anything else the reader needs: exit codes, where a value comes from. */
  notes?: string;
}

export function formatHelp(help: CommandHelp): string {
  const lines = [`usage: ${help.usage.replace(/\n/g, '\n       ')}`, '', help.summary];
  if (help.options?.length) {
    const width = Math.max(...help.options.map(([flag]) => flag.length));
    lines.push('', 'options:', ...help.options.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`));
  }
  if (help.notes) lines.push('', help.notes);
  lines.push('', 'examples:', ...help.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** node:util parseArgs, with its errors turned into one-line UsageErrors naming the command. */
export function parseCommandArgs<O extends Options>(command: string, args: string[], options: O, allowPositionals = false): ParsedCommandArgs<O> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true }) as ParsedCommandArgs<O>;
  } catch (err) {
    throw new UsageError(command, describeParseError(err));
  }
}

function describeParseError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = String(e.message ?? err);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${quoted}'`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${quoted}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(message) ? `option '${quoted?.replace(/ <value>$/, '')}' needs a value` : (message.split('\n')[0] ?? message);
    default:
      return message.split('\n')[0] ?? message;
  }
}
