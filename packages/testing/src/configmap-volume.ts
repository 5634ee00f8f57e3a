// A Kubernetes ConfigMap volume as the kubelet lays it out, for testing what follows a ConfigMap update.
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ConfigMapVolume {
  /** Replaces the contents the way the kubelet does; `dir/KEY` keeps naming the current file of each key. */
  update(files: Record<string, string>): void;
}

/**
 * Every key is a symlink through `..data` to a timestamped directory. An update writes a new directory, points a
 * temporary `..data_tmp` link at it, renames that over `..data` (one atomic step) and removes the old directory.
 */
export function writeConfigMapVolume(dir: string, files: Record<string, string>): ConfigMapVolume {
  let generation = 0;
  let current: string | undefined;
  const update = (next: Record<string, string>) => {
    const stamp = `..2026_12_01_18_00_00.${String(++generation).padStart(9, '0')}`;
    mkdirSync(join(dir, stamp));
    for (const [key, text] of Object.entries(next)) writeFileSync(join(dir, stamp, key), text);
    symlinkSync(stamp, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    for (const key of Object.keys(next)) {
      if (!existsSync(join(dir, key))) symlinkSync(join('..data', key), join(dir, key));
    }
    if (current) rmSync(join(dir, current), { recursive: true });
    current = stamp;
  };
  update(files);
  return { update };
}
