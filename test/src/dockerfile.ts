// The Dockerfile as data, for tests that cannot build it (no Docker engine here): its stages and their
// instructions, the runtime stage's settings, and what the image promises about itself (imageProblems).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Instruction {
  /** Upper-cased: FROM, RUN, COPY, … */
  keyword: string;
  /** The rest of the instruction, continuation lines joined. */
  args: string;
  /** 1-based line where it starts. */
  line: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/**
 * glibc's allocator settings every way of running Vallum in a container starts it with: the image's ENV, the Kubernetes
 * pod component and docker-compose.yml (bench/README.md "The 100 KiB path (issue 14)").
 */
/** The node flags the image and the `vallum` launcher start Vallum with (issue 14: the 100 KiB path). */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

export const MALLOC_SETTINGS: Readonly<Record<string, string>> = {
  MALLOC_TRIM_THRESHOLD_: '67108864',
  MALLOC_TOP_PAD_: '16777216',
  MALLOC_MMAP_THRESHOLD_: '4194304',
};

export function readDockerfile(): string {
  return readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
}

/** Stages in order; instructions before the first FROM (ARG) are ignored. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let logical = lines[i]!.trim();
    if (logical === '' || logical.startsWith('#')) continue;
    while (logical.endsWith('\\') && i + 1 < lines.length) {
      logical = logical.slice(0, -1);
      const next = lines[++i]!.trim();
      if (!next.startsWith('#')) logical += ` ${next}`;
    }
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/s.exec(logical) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: args.replace(/\s+/g, ' ').trim(), line: start + 1 };
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.replace(/--platform=\S+\s*/, '').split(' ');
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** `["a", "b"]` (exec form) as an array; undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
}

/** `KEY=value KEY2="two words"` and the legacy `KEY value`. */
function envOf(args: string): Record<string, string> {
  if (!/^[\w.-]+=/.test(args)) {
    const [key = '', ...value] = args.split(' ');
    return { [key]: value.join(' ') };
  }
  const env: Record<string, string> = {};
  for (const [, key, quoted, bare] of args.matchAll(/([\w.-]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g)) env[key!] = quoted ?? bare ?? '';
  return env;
}

const last = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).at(-1);

/** PID-1 init programs an ENTRYPOINT may start with, and the arguments that end their own options. */
const INITS: Record<string, string[]> = { tini: ['--'], 'tini-static': ['--'], 'dumb-init': ['--'] };

export interface RuntimeImage {
  stage: Stage;
  /** The init program and its arguments (`/usr/bin/tini --`), or empty. */
  init: string[];
  /** What runs under the init: ENTRYPOINT without it. */
  command: string[];
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  /** HEALTHCHECK's command in exec form (after CMD), if any. */
  healthcheck: string[] | undefined;
}

export function runtimeImage(text: string): RuntimeImage {
  const stage = parseDockerfile(text).at(-1);
  if (!stage) throw new Error('the Dockerfile has no FROM');
  const entrypoint = execForm(last(stage, 'ENTRYPOINT')?.args ?? '') ?? [];
  const initName = entrypoint[0]?.split('/').at(-1) ?? '';
  let init: string[] = [];
  if (INITS[initName]) {
    const end = entrypoint.findIndex((a, i) => i > 0 && INITS[initName]!.includes(a));
    init = entrypoint.slice(0, end >= 0 ? end + 1 : 1);
  }
  const env: Record<string, string> = {};
  for (const i of stage.instructions) if (i.keyword === 'ENV') Object.assign(env, envOf(i.args));
  const check = last(stage, 'HEALTHCHECK')?.args;
  const cmd = check === undefined ? undefined : /(?:^|\s)CMD\s+(.*)$/.exec(check)?.[1];
  return {
    stage,
    init,
    command: entrypoint.slice(init.length),
    workdir: last(stage, 'WORKDIR')?.args ?? '/',
    env,
    user: last(stage, 'USER')?.args,
    healthcheck: cmd === undefined ? undefined : execForm(cmd),
  };
}

/** Where a runtime-stage path (relative to WORKDIR or absolute under it) is in a copy of /app at `dir`. */
export function inImageDir(path: string, workdir: string, dir: string): string {
  if (!path.startsWith('/')) return join(dir, path);
  const base = `${workdir.replace(/\/$/, '')}/`;
  if (!path.startsWith(base)) throw new Error(`${path} is outside WORKDIR ${workdir}`);
  return join(dir, path.slice(base.length));
}

/** The lowest Node major that is an LTS line still supported when this check was written (Dec 2026). */
const MIN_NODE_LTS = 22;

/**
 * What the image must be, one line per breach: built in stages, the runtime stage on a current Node LTS slim image,
 * holding only files copied from an earlier stage (never the build context), run as a non-root numeric user under an
 * init, with a HEALTHCHECK; and its app files are what scripts/install-runtime.mjs lays out.
 */
export function imageProblems(text: string): string[] {
  const problems: string[] = [];
  const stages = parseDockerfile(text);
  if (stages.length < 2) problems.push(`one stage only: build in one stage and copy the runtime files into another`);
  const image = runtimeImage(text);
  const { stage } = image;

  const node = /^node:(\d+)(?:\.[\d.]+)?-(\w+)-slim(?:@sha256:[0-9a-f]+)?$/.exec(stage.image);
  const major = Number(node?.[1]);
  if (!node || major < MIN_NODE_LTS || major % 2 !== 0) {
    problems.push(`runtime base ${stage.image}: expected a Node LTS (even major >= ${MIN_NODE_LTS}) slim image, e.g. node:24-bookworm-slim`);
  }

  const earlier = new Set(stages.slice(0, -1).flatMap((s, i) => [String(i), ...(s.name ? [s.name] : [])]));
  for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
    const from = /--from=(\S+)/.exec(copy.args)?.[1];
    if (!from || !earlier.has(from)) problems.push(`line ${copy.line}: ${copy.keyword} ${copy.args}: the runtime stage copies only from an earlier stage`);
  }

  const [uid, gid] = (image.user ?? '').split(':');
  if (!image.user) problems.push('no USER in the runtime stage: it would run as root');
  else if (!/^\d+$/.test(uid ?? '') || uid === '0' || (gid !== undefined && !/^\d+$/.test(gid)))
    problems.push(`USER ${image.user}: expected a numeric non-root uid[:gid] (Kubernetes runAsNonRoot cannot verify a name)`);

  if (!image.healthcheck) problems.push('no HEALTHCHECK with an exec-form CMD in the runtime stage');
  else if (!image.healthcheck.some((a) => a.includes('VALLUM_HEALTHCHECK_URL')))
    problems.push('HEALTHCHECK does not read VALLUM_HEALTHCHECK_URL: a service on its own could not point it at its port');
  else if (!image.env['VALLUM_HEALTHCHECK_URL']) problems.push('no ENV VALLUM_HEALTHCHECK_URL default in the runtime stage');
  for (const flag of NODE_FLAGS) {
    if (!image.command.includes(flag)) problems.push(`ENTRYPOINT does not start node with ${flag} (V8's young generation, issue 14)`);
  }
  for (const [name, value] of Object.entries(MALLOC_SETTINGS)) {
    if (image.env[name] !== value)
      problems.push(`ENV ${name}=${image.env[name] ?? '(unset)'} in the runtime stage: expected ${value} (glibc's allocator, issue 14)`);
  }

  if (image.init.length === 0) problems.push('ENTRYPOINT does not start an init (tini): node as PID 1 gets no default signal actions and reaps no zombies');
  else if (!stage.instructions.some((i) => (i.keyword === 'COPY' || i.keyword === 'RUN') && i.args.includes(image.init[0]!.split('/').at(-1)!)))
    problems.push(`ENTRYPOINT runs ${image.init[0]}, which the runtime stage never copies or installs`);
  if (image.command[0] !== 'node') problems.push(`ENTRYPOINT runs ${image.command[0]} under the init, expected node`);

  // The runtime files come from the install-runtime output of an earlier stage, and nothing else of the app does.
  const installs = stages
    .slice(0, -1)
    .flatMap((s) => s.instructions.flatMap((i) => [...i.args.matchAll(/node scripts\/install-runtime\.mjs (\S+)/g)].map((m) => m[1]!)));
  const appCopies = stage.instructions.filter((i) => i.keyword === 'COPY' && !/^--from=\S+ \/usr\//.test(i.args));
  if (installs.length !== 1) problems.push('no earlier stage runs `node scripts/install-runtime.mjs DIR` once');
  else if (appCopies.length !== 1 || !new RegExp(`^--from=\\S+ ${installs[0]}/? ${image.workdir}/?$`).test(appCopies[0]!.args))
    problems.push(`the runtime stage must COPY --from=<build> ${installs[0]} ${image.workdir} and no other app files`);
  return problems;
}
