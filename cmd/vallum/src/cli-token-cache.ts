// The command-line login's token, kept per Vallum origin in the user's cache directory (mode 0600), so `vallum tcp`
// asks the browser once per session rather than once per run.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TokenCache {
  get(origin: string): string | undefined;
  set(origin: string, token: string): void;
  forget(origin: string): void;
}

export function tokenCacheFile(env: Readonly<Record<string, string | undefined>>): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vallum', 'tokens.json');
}

export function createTokenCache(file: string): TokenCache {
  const read = (): Record<string, string> => {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
    } catch {
      return {};
    }
  };
  const write = (tokens: Record<string, string>) => {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${JSON.stringify(tokens)}\n`, { mode: 0o600 });
  };
  return {
    get: (origin) => {
      const token = read()[origin];
      return typeof token === 'string' && token !== '' ? token : undefined;
    },
    set: (origin, token) => write({ ...read(), [origin]: token }),
    forget: (origin) => {
      const { [origin]: _gone, ...rest } = read();
      write(rest);
    },
  };
}
