// Hot reload: the config file is polled (which also sees editors' atomic renames and bind-mounted files), and a
// changed file is loaded whole and swapped in; a broken one leaves the running config in force.
import { createHash } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { VallumConfig } from '@vallum/config';
import { loadVallumConfig } from './load.js';

export interface WatchOptions {
  onConfig(config: VallumConfig): Promise<void>;
  onError(err: unknown): void;
  intervalMs?: number;
  /** Environment used for overrides, as at start. */
  env?: Record<string, string | undefined>;
}

export interface ConfigWatcher {
  close(): void;
}

export function watchConfigFile(file: string, options: WatchOptions): ConfigWatcher {
  const digest = () => {
    try {
      return createHash('sha256').update(readFileSync(file)).digest('hex');
    } catch {
      return '';
    }
  };
  let seen = digest();
  let running = Promise.resolve();
  const check = () => {
    running = running.then(async () => {
      const now = digest();
      if (now === seen || now === '') return;
      seen = now;
      try {
        await options.onConfig(loadVallumConfig(file, { env: options.env }));
      } catch (err) {
        options.onError(err);
      }
    });
  };
  watchFile(file, { interval: options.intervalMs ?? 250, persistent: false }, check);
  return {
    close() {
      unwatchFile(file, check);
    },
  };
}
