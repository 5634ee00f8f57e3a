// Reads vallum.yaml (or a YAML string), applies environment overrides, validates against the one schema and the
// policy language, reads the files it names (*_file secrets, certificates, policy files), builds the frozen
// VallumConfig from them, loads its certificates as start does and compiles its policies. `vallum validate`, start
// and reload all load through here, so they accept the same configs. Every problem is reported at once, each with
// file:line:column.
import { readFileSync } from 'node:fs';
import type { Document } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import { VallumError, ErrorCodes } from '@vallum/errors';
import { ConfigSchema, type RawConfig } from './schema.js';
import { ENV_OVERRIDES } from './env.js';
import { buildConfig, type VallumConfig } from './build-config.js';
import { readConfigFiles } from './config-files.js';
import { certificateIssues } from './check-certificates.js';
import { compilePolicies, policyShapeIssues } from './compile-policies.js';
import { suggest } from '@vallum/errors';
import type { ConfigIssue, ConfigPath, LocatedIssue } from './config-issues.js';
import { nodeFor, parseLocatedYaml } from './yaml-positions.js';

export type { ConfigIssue, ConfigPath, LocatedIssue } from './config-issues.js';
export { nodeFor, parseLocatedYaml } from './yaml-positions.js';

export interface LoadOptions {
  env?: Record<string, string | undefined>;
}

export class ConfigError extends VallumError {
  readonly issues: LocatedIssue[];
  constructor(file: string, issues: LocatedIssue[]) {
    const lines = issues.map((i) => `${i.location}: ${i.message}`).join('\n');
    super(ErrorCodes.CONFIG_INVALID, `invalid configuration in ${file}:\n${lines}`, { status: 500, expose: false, details: { issues } });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function loadConfigFile(file: string, options: LoadOptions = {}): VallumConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new VallumError(ErrorCodes.CONFIG_READ, `cannot read config file ${file}: ${(cause as Error).message}`, { cause });
  }
  return loadConfigText(text, file, options);
}

export function loadConfigText(text: string, file: string, options: LoadOptions = {}): VallumConfig {
  const { doc, at, syntaxErrors } = parseLocatedYaml(text, file);
  if (syntaxErrors.length > 0) throw new ConfigError(file, syntaxErrors);
  const fromEnv = applyEnvOverrides(doc, options.env ?? process.env);
  return configFromValue(doc.toJS() ?? {}, file, locator(doc, at, fromEnv));
}

/** The YAML text as a plain value with the environment overrides applied, or its syntax errors. */
export function parseConfigText(text: string, file: string, options: LoadOptions = {}): { raw: unknown } | { syntaxErrors: LocatedIssue[] } {
  const { doc, syntaxErrors } = parseLocatedYaml(text, file);
  if (syntaxErrors.length > 0) return { syntaxErrors };
  applyEnvOverrides(doc, options.env ?? process.env);
  return { raw: doc.toJS() ?? {} };
}

/**
 * The config from a value `parseConfigText` made (in a worker thread, see load-config-off-thread.ts), exactly as
 * `loadConfigText` would build it. The text is parsed again, for positions, only when a problem must be located.
 */
export function configFromParsed(raw: unknown, text: string, file: string, options: LoadOptions = {}): VallumConfig {
  let located: ((path: ConfigPath, atKey?: boolean) => string) | undefined;
  const locate = (path: ConfigPath, atKey = false): string => {
    if (!located) {
      const { doc, at } = parseLocatedYaml(text, file);
      located = locator(doc, at, applyEnvOverrides(doc, options.env ?? process.env));
    }
    return located(path, atKey);
  };
  return configFromValue(raw, file, locate);
}

function locator(doc: Document, at: (offset: number | undefined) => string, fromEnv: Array<[string, readonly string[]]>) {
  return (path: ConfigPath, atKey = false): string => {
    const env = fromEnv.find(([, p]) => p.length <= path.length && p.every((k, i) => path[i] === k));
    if (env) return `environment variable ${env[0]}`;
    return at(nodeFor(doc, path, atKey)?.range?.[0]);
  };
}

function configFromValue(raw: unknown, file: string, locate: (path: ConfigPath, atKey?: boolean) => string): VallumConfig {
  const issues: ConfigIssue[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push({ path: [], message: 'expected a mapping of settings (address, idp, routes, …)' });
  } else {
    issues.push(...schemaIssues(raw));
  }
  if (typeof raw === 'object' && raw !== null) {
    try {
      issues.push(...policyShapeIssues(raw as RawConfig));
    } catch {
      // A malformed shape (routes not a list, say) adds nothing here: the schema has reported it already.
    }
  }
  let config: VallumConfig | undefined;
  if (issues.length === 0) {
    const built = buildConfig(raw as RawConfig, { file, locate, files: readConfigFiles(raw as RawConfig, file) });
    issues.push(...built.issues);
    config = built.config;
  }
  if (config) issues.push(...certificateIssues(config), ...compilePolicies(config).problems);
  if (issues.length > 0 || !config) {
    throw new ConfigError(
      file,
      issues.map((i) => ({ ...i, location: i.location ?? locate(i.path, i.atKey) })),
    );
  }
  return config;
}

function applyEnvOverrides(doc: Document, env: Record<string, string | undefined>): Array<[string, readonly string[]]> {
  const applied: Array<[string, readonly string[]]> = [];
  for (const [name, path] of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (doc.contents === null) doc.contents = doc.createNode({}) as never;
    doc.setIn(path, typedEnvValue(path, value));
    applied.push([name, path]);
  }
  return applied;
}

/**
 * An environment value as the schema types the setting: `VALLUM_…=true` means true for a boolean, a list is
 * comma-separated, and `VALLUM_WORKERS=2` means 2 where a whole number is allowed.
 */
function typedEnvValue(path: readonly string[], value: string): string | boolean | number | string[] {
  let schema: { properties?: Record<string, unknown>; type?: unknown; anyOf?: Array<{ type?: unknown }> } = ConfigSchema as never;
  for (const key of path) schema = (schema.properties?.[key] ?? {}) as never;
  if (schema.type === 'array') {
    return value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  }
  if (schema.type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  const numeric = schema.type === 'integer' || (schema.anyOf ?? []).some((s) => s.type === 'integer');
  if (numeric && /^\d{1,9}$/.test(value)) return Number(value);
  return value;
}

function schemaIssues(raw: object): ConfigIssue[] {
  // Collecting errors walks the value with an object per step: a valid config (the usual case) only needs the check.
  if (Value.Check(ConfigSchema, raw)) return [];
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(ConfigSchema, raw)) {
    const path = error.path.split('/').slice(1).map(decodePointer);
    const key = `${error.path}`;
    if (seen.has(key)) continue; // a union reports once per branch; the first message is enough
    seen.add(key);
    issues.push({ path, message: describe(error, path, raw), atKey: error.message === 'Unexpected property' });
  }
  return issues;
}

function decodePointer(segment: string): string | number {
  const s = segment.replace(/~1/g, '/').replace(/~0/g, '~');
  return /^\d+$/.test(s) ? Number(s) : s;
}

function describe(error: { message: string; schema: { description?: string; type?: unknown; anyOf?: unknown[] } }, path: ConfigPath, raw: object): string {
  const name = path.length ? path.join('.') : 'config';
  if (error.message === 'Unexpected property') {
    const key = String(path[path.length - 1]);
    const parent = parentSchemaKeys(path.slice(0, -1), raw);
    const hint = suggest(key, parent);
    return `unknown key '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}`;
  }
  if (error.message.startsWith('Expected required property')) return `'${path[path.length - 1]}' is required`;
  const allowed = enumValues(error.schema);
  if (allowed) return `${name}: expected one of ${allowed.join(', ')}; got ${JSON.stringify(valueAt(raw, path))}`;
  const expected = error.schema.description ? ` (${error.schema.description})` : '';
  return `${name}: ${error.message.toLowerCase()}${expected}`;
}

/** The allowed values of an enum setting (a union of literals), or undefined for any other schema. */
function enumValues(schema: { anyOf?: unknown[] }): unknown[] | undefined {
  const values = schema.anyOf?.map((branch) => (branch as { const?: unknown }).const);
  return values && values.length > 0 && values.every((v) => v !== undefined) ? values : undefined;
}

function valueAt(raw: object, path: ConfigPath): unknown {
  let value: unknown = raw;
  for (const key of path) value = (value as Record<string | number, unknown> | undefined)?.[key];
  return value;
}

function parentSchemaKeys(path: ConfigPath, _raw: object): string[] {
  let schema: { properties?: Record<string, unknown>; items?: unknown; anyOf?: unknown[] } = ConfigSchema as never;
  for (const key of path) {
    if (typeof key === 'number') schema = (schema.items ?? {}) as never;
    else schema = (schema.properties?.[key] ?? {}) as never;
  }
  return Object.keys(schema.properties ?? {});
}
