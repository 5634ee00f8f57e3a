// Hot reload: the config file and the policy files, directories and listener certificate it loaded are polled
// (which also sees editors' atomic renames and bind-mounted files), and any change loads the config whole and swaps
// it in; a broken file leaves the running config in force.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { VallumConfig } from '@vallum/config';
import { loadVallumConfig, loadVallumConfigOffThread } from './load.js';

export interface WatchOptions {
  onConfig(config: VallumConfig): Promise<unknown>;
  onError(err: unknown): void;
  intervalMs?: number;
  /** Environment used for overrides, as at start. */
  env?: Record<string, string | undefined>;
  /** The running config, whose reload sources are watched too; loaded from `file` when absent. */
  config?: VallumConfig;
}

export interface ConfigWatcher {
  /** Loads the file now, changed or not (SIGHUP), through the same path as a change. */
  reload(): Promise<void>;
  close(): void;
}

/** Content of a file, or the names in a directory; '' when it cannot be read (mid-rename, removed). */
function snapshot(path: string): string {
  try {
    return statSync(path).isDirectory() ? readdirSync(path).sort().join('\n') : readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

export function watchConfigFile(file: string, options: WatchOptions): ConfigWatcher {
  let sources: readonly string[] = options.config?.reloadSources ?? initialSources(file, options.env);
  const digest = (): string | undefined => {
    const main = snapshot(file);
    if (main === '') return undefined;
    const hash = createHash('sha256').update(main);
    for (const source of sources) hash.update(`\0${source}\0${snapshot(source)}`);
    return hash.digest('hex');
  };
  let seen = digest();
  let busy: Promise<void> | undefined;
  const check = async (force = false): Promise<void> => {
    if (busy) {
      // A forced reload waits for the load under way, then loads again: it must see the file as it is now.
      if (force) await busy.then(() => check(true));
      return;
    }
    let done!: () => void;
    busy = new Promise<void>((resolve) => (done = resolve));
    try {
      const now = digest();
      if (now === undefined || (now === seen && !force)) {
        if (force && now === undefined) options.onError(new Error(`${file} cannot be read`));
        return;
      }
      seen = now;
      try {
        const config = await loadVallumConfigOffThread(file, { env: options.env });
        await options.onConfig(config);
        sources = config.reloadSources;
        seen = digest();
      } catch (err) {
        options.onError(err);
      }
    } finally {
      busy = undefined;
      done();
    }
  };
  const timer = setInterval(() => void check(), options.intervalMs ?? 250);
  timer.unref();
  // File-system events make a change visible at once; the poll above still catches what events miss
  // (bind mounts, network file systems, a directory that appears later).
  const watchers = new Map<string, FSWatcher>();
  let soon: NodeJS.Timeout | undefined;
  const onEvent = () => {
    clearTimeout(soon);
    soon = setTimeout(() => void check().then(watchDirectories), 20);
    soon.unref();
  };
  const watchDirectories = () => {
    const wanted = new Set([dirname(file), ...sources.map((s) => (isDirectory(s) ? s : dirname(s)))]);
    for (const [dir, watcher] of watchers) {
      if (wanted.has(dir)) continue;
      watcher.close();
      watchers.delete(dir);
    }
    for (const dir of wanted) {
      if (watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, onEvent);
        watcher.on('error', () => {});
        watchers.set(dir, watcher);
      } catch {
        // Not there (yet): the poll covers it.
      }
    }
  };
  watchDirectories();
  return {
    reload: () => check(true),
    close() {
      clearInterval(timer);
      clearTimeout(soon);
      for (const watcher of watchers.values()) watcher.close();
    },
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function initialSources(file: string, env: Record<string, string | undefined> | undefined): readonly string[] {
  try {
    return loadVallumConfig(file, { env }).reloadSources;
  } catch {
    return [];
  }
}
