// The loader's half of `branding.templates_dir`: reads each page template the directory has (NAME.html); a
// missing file means the built-in template. Compiling them is the pure build's half (build-branding.ts).
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TEMPLATE_NAMES, type TemplateName } from '@vallum/pages';
import type { RawConfig } from './schema.js';

export interface TemplateFiles {
  /** The directory, absolute; undefined without `templates_dir`. */
  dir: string | undefined;
  /** Each file's text, or why it could not be read (a missing file is simply absent). */
  read: Partial<Record<TemplateName, { file: string; text: string } | { file: string; error: Error }>>;
  /** Why the directory itself cannot be read. */
  problem?: string;
}

export function readTemplateFiles(raw: RawConfig, configFile: string): TemplateFiles {
  const setting = raw.branding?.templates_dir;
  if (setting === undefined) return { dir: undefined, read: {} };
  const dir = resolve(dirname(resolve(configFile)), setting);
  const read: TemplateFiles['read'] = {};
  try {
    if (!statSync(dir).isDirectory()) return { dir, read, problem: `cannot read template directory ${dir}: not a directory` };
  } catch (err) {
    return { dir, read, problem: `cannot read template directory ${dir}: ${(err as Error).message}` };
  }
  for (const name of TEMPLATE_NAMES) {
    const file = join(dir, `${name}.html`);
    try {
      read[name] = { file, text: readFileSync(file, 'utf8') };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') read[name] = { file, error: err as Error };
    }
  }
  return { dir, read };
}
