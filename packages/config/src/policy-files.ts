// Named policies: each NAME.yaml in policy_dir (and each file in policy_files) is one policy, parsed here with its
// own locations so a problem in it is reported as policy-file:line:column. What a policy means is left to the
// policy language.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import type { RawConfig } from './schema.js';
import type { ConfigIssue, ConfigPath } from './config-issues.js';
import { nodeFor, parseLocatedYaml } from './yaml-positions.js';

export interface NamedPolicy {
  /** File name without .yaml, what `policy: {use: NAME}` refers to. */
  name: string;
  file: string;
  value: unknown;
  /** `file:line:column` of a path inside the policy. */
  locate(path: ConfigPath): string;
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/i;
const isYaml = (file: string) => file.endsWith('.yaml') || file.endsWith('.yml');

export interface PolicyFiles {
  named: NamedPolicy[];
  /** The directory and files read, which a reload watches. */
  sources: string[];
  issues: ConfigIssue[];
}

export function loadPolicyFiles(raw: RawConfig, configFile: string): PolicyFiles {
  const issues: ConfigIssue[] = [];
  const base = dirname(resolve(configFile));
  const files: Array<{ file: string; path: ConfigPath }> = [];
  const sources: string[] = [];
  if (raw.policy_dir !== undefined) {
    const dir = resolve(base, raw.policy_dir);
    sources.push(dir);
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
      for (const name of readdirSync(dir).filter(isYaml).sort()) files.push({ file: resolve(dir, name), path: ['policy_dir'] });
    } catch (err) {
      issues.push({ path: ['policy_dir'], message: `cannot read policy directory ${dir}: ${(err as Error).message}` });
    }
  }
  (raw.policy_files ?? []).forEach((f, i) => files.push({ file: resolve(base, f), path: ['policy_files', i] }));

  const named: NamedPolicy[] = [];
  for (const { file, path } of files) {
    sources.push(file);
    const name = basename(file, extname(file));
    if (!NAME.test(name)) {
      issues.push({ path, message: `${file}: a named policy's file name must be letters, digits, - and _ (it is the name routes use)` });
      continue;
    }
    if (named.some((n) => n.name === name)) {
      issues.push({ path, message: `two named policies are called '${name}' (${file})` });
      continue;
    }
    const loaded = readPolicyFile(file);
    if ('issues' in loaded) {
      issues.push(...loaded.issues.map((i) => ({ ...i, path })));
      continue;
    }
    named.push({ name, file, ...loaded });
  }
  return { named, sources, issues };
}

function readPolicyFile(file: string): { value: unknown; locate(path: ConfigPath): string } | { issues: ConfigIssue[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { issues: [{ path: [], message: `cannot read policy file ${file}: ${(err as Error).message}` }] };
  }
  const { doc, at, syntaxErrors } = parseLocatedYaml(text, file);
  if (syntaxErrors.length > 0) return { issues: syntaxErrors };
  return { value: doc.toJS(), locate: (path) => at(nodeFor(doc, path, false)?.range?.[0]) };
}
