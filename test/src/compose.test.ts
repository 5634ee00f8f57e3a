// docker-compose.yml without a Docker engine: docker-compose 1.29 validates it, and its services run here as local
// processes with the very commands, environment, healthchecks and config file the containers get, compose host names
// and ports rewritten to loopback ports. A mistake in the compose wiring (a URL, a port, a secret that differs
// between the IdP and Vallum) fails here.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parse, parseDocument } from 'yaml';
import { getFreePort, startRedis, DEMO_PASSWORD, type RedisServer } from '@vallum/testing';
import { stopChild } from './harness.js';
import { MALLOC_SETTINGS, readDockerfile, runtimeImage } from './dockerfile.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const DOCKER_COMPOSE_HINT =
  'docker-compose is not installed: apt-get install -y --no-install-recommends docker-compose (npm test installs it when run as root)';
/** The services of docker-compose.yml this test starts as processes; redis becomes a real local redis-server. */
const VALLUM_SERVICES = ['cache', 'authorize', 'authenticate', 'proxy'] as const;
const HEALTH_TIMEOUT_MS = 20_000;

function dockerCompose(cwd: string, file: string): { status: number | null; output: string } {
  const run = spawnSync('docker-compose', ['-f', file, 'config', '-q'], { cwd, encoding: 'utf8', timeout: 60_000 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') assert.fail(DOCKER_COMPOSE_HINT);
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('docker-compose.yml', () => {
  test('docker-compose config accepts it (no .env needed: demo defaults are interpolated)', () => {
    const { status, output } = dockerCompose(ROOT, 'docker-compose.yml');
    assert.equal(status, 0, output);
  });

  test('docker-compose config refuses broken copies, so the check above can fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vallum-compose-'));
    try {
      const text = readFileSync(COMPOSE_FILE, 'utf8');
      writeFileSync(join(dir, 'intact.yml'), text);
      assert.equal(dockerCompose(dir, 'intact.yml').status, 0, 'an unchanged copy validates in the temp dir');

      const badPorts = parseDocument(text);
      badPorts.setIn(['services', 'proxy', 'ports'], 'nope');
      writeFileSync(join(dir, 'bad-ports.yml'), badPorts.toString());
      const ports = dockerCompose(dir, 'bad-ports.yml');
      assert.notEqual(ports.status, 0, `ports: "nope" was accepted:\n${ports.output}`);

      const badKey = parseDocument(text);
      badKey.set('servics', badKey.get('services'));
      writeFileSync(join(dir, 'bad-key.yml'), badKey.toString());
      const key = dockerCompose(dir, 'bad-key.yml');
      assert.notEqual(key.status, 0, `an unknown top-level key was accepted:\n${key.output}`);
      assert.match(key.output, /servics/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- docker-compose.yml as data -----------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: string | { context?: string };
  command?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | number>;
  volumes?: string[];
  healthcheck?: { test?: string[] | string };
  depends_on?: string[] | Record<string, { condition?: string }>;
  networks?: Record<string, { aliases?: string[] } | null> | string[];
}

/** Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `$VAR` and `$$`. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_]\w*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_]\w*)/g,
    (match, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare)!;
      const current = env[name];
      if (!op) return current ?? '';
      const unset = op.startsWith(':') ? !current : current === undefined;
      if (!unset) return current!;
      if (op.endsWith('-')) return arg ?? '';
      throw new Error(`docker-compose.yml requires ${name}: ${arg}`);
    },
  );
}

function interpolateAll<T>(value: T, env: Record<string, string | undefined>): T {
  if (typeof value === 'string') return interpolate(value, env) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => interpolateAll(v, env)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)])) as T;
  }
  return value;
}

/** The services, as `docker compose` sees them on a machine with no .env and none of the variables set. */
function loadCompose(): Record<string, ComposeService> {
  const doc = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  return interpolateAll(doc.services, {});
}

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependenciesOf(service: ComposeService): string[] {
  const deps = service.depends_on ?? [];
  return Array.isArray(deps) ? deps : Object.keys(deps);
}

function aliasesOf(service: ComposeService): string[] {
  const networks = service.networks ?? {};
  if (Array.isArray(networks)) return [];
  return Object.values(networks).flatMap((n) => n?.aliases ?? []);
}

/** The port a container listens on: VALLUM_ADDRESS for Vallum, `--port` for the demo parts, 6379 for redis. */
function containerPortOf(name: string, service: ComposeService): number {
  const address = environmentOf(service)['VALLUM_ADDRESS'];
  if (address) return Number(address.slice(address.lastIndexOf(':') + 1));
  const args = service.command ?? [];
  const flag = args.indexOf('--port');
  if (flag >= 0) return Number(args[flag + 1]);
  if (name === 'redis') return 6379;
  throw new Error(`cannot tell which port compose service ${name} listens on`);
}

/** `[ip:]host:container[/proto]` → the host port, for the container port given. */
function publishedPortsOf(service: ComposeService, containerPort: number): number[] {
  return (service.ports ?? []).flatMap((entry) => {
    const parts = String(entry)
      .replace(/\/\w+$/, '')
      .split(':');
    return Number(parts.at(-1)) === containerPort && parts.length >= 2 ? [Number(parts.at(-2))] : [];
  });
}

/** Dependencies first, as compose starts them. */
function startOrder(services: Record<string, ComposeService>): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (order.includes(name)) return;
    assert.ok(services[name], `depends_on names an unknown service '${name}'`);
    assert.ok(!visiting.has(name), `depends_on cycle through '${name}'`);
    visiting.add(name);
    for (const dep of dependenciesOf(services[name]!)) visit(dep);
    order.push(name);
  };
  for (const name of Object.keys(services)) visit(name);
  return order;
}

/** ENTRYPOINT (under its init: tini is not installed here), WORKDIR and ENV of the Dockerfile's final stage. */
function imageOf(): { entrypoint: string[]; workdir: string; env: Record<string, string> } {
  const image = runtimeImage(readDockerfile());
  assert.ok(image.command.length > 0, 'the Dockerfile has an exec-form ENTRYPOINT');
  return { entrypoint: image.command, workdir: image.workdir, env: image.env };
}

// ---- the mapping from compose to loopback ----------------------------------------------------------------------------

interface Placement {
  names: string[];
  containerPort: number;
  publishedPorts: number[];
  port: number;
}

/**
 * Rewrites every `host:port` the containers use into what works on this machine, in one pass (so a rewritten port
 * is never rewritten again): a service's name or network alias with its container port, and 0.0.0.0 or 127.0.0.1
 * with a container port → 127.0.0.1:<its test port>; `<name>.localhost` with a published port → the same name with
 * the test port (the test sends that Host header to 127.0.0.1).
 */
function createRewriter(placements: Placement[]): (text: string) => string {
  return (text) =>
    text.replace(/(?<![\w.-])([A-Za-z0-9][\w.-]*):(\d+)(?!\d)/g, (match, host: string, portText: string) => {
      const port = Number(portText);
      const lower = host.toLowerCase();
      const byName = placements.find((p) => p.names.includes(lower) && p.containerPort === port);
      if (byName) return `127.0.0.1:${byName.port}`;
      if (lower === '0.0.0.0' || lower === '127.0.0.1') {
        const byPort = placements.find((p) => p.containerPort === port);
        if (byPort) return `127.0.0.1:${byPort.port}`;
      }
      if (lower === 'localhost' || lower.endsWith('.localhost')) {
        const published = placements.find((p) => p.publishedPorts.includes(port));
        if (published) return `${host}:${published.port}`;
      }
      return match;
    });
}

function rewriteArgs(args: string[], rewrite: (text: string) => string, placement: Placement, files: Map<string, string>): string[] {
  return args.map((arg, i) => {
    if (files.has(arg)) return files.get(arg)!;
    if (args[i - 1] === '--port' && Number(arg) === placement.containerPort) return String(placement.port);
    if (args[i - 1] === '--host' && arg === '0.0.0.0') return '127.0.0.1';
    return rewrite(arg);
  });
}

// ---- a minimal browser: Host headers for *.localhost, one cookie jar per host name, redirects by hand ----------------

interface Page {
  status: number;
  url: string;
  location: string | undefined;
  body: string;
}

class HeadlessBrowser {
  readonly #jar = new Map<string, Map<string, string>>();

  async open(url: string, init: { method?: 'GET' | 'POST'; form?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url);
    const local = target.hostname === 'localhost' || target.hostname.endsWith('.localhost');
    const cookies = [...(this.#jar.get(target.hostname) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
    const headers: Record<string, string> = { host: target.host, accept: 'text/html' };
    if (cookies) headers['cookie'] = cookies;
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await request(`http://${local ? '127.0.0.1' : target.hostname}:${target.port}${target.pathname}${target.search}`, {
      method: init.method ?? 'GET',
      headers,
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const setCookie = res.headers['set-cookie'];
    for (const line of setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]) this.#store(target.hostname, line);
    const location = res.headers['location'];
    return {
      status: res.statusCode,
      url,
      location: typeof location === 'string' ? new URL(location, url).href : undefined,
      body: await res.body.text(),
    };
  }

  /** Follows redirects (GET) until a page is rendered. */
  async follow(url: string, init: { method?: 'GET' | 'POST'; form?: Record<string, string> } = {}): Promise<{ page: Page; hops: string[] }> {
    const hops: string[] = [];
    let page = await this.open(url, init);
    while (page.status >= 300 && page.status < 400 && page.location) {
      hops.push(page.location);
      assert.ok(hops.length < 25, `redirect loop:\n${hops.join('\n')}`);
      page = await this.open(page.location);
    }
    return { page, hops };
  }

  #store(hostname: string, line: string): void {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some((a) => {
      const [k = '', v = ''] = a.trim().split('=');
      return (k.toLowerCase() === 'max-age' && Number(v) <= 0) || (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now());
    });
    const jar = this.#jar.get(hostname) ?? new Map<string, string>();
    this.#jar.set(hostname, jar);
    if (value === '' || expired) jar.delete(name);
    else jar.set(name, value);
  }
}

// ---- the services as processes -------------------------------------------------------------------------------------

interface Started {
  child: ChildProcess;
  output: () => string;
}

function spawnCommand(executable: string, args: string[], env: Record<string, string>, cwd: string): Started {
  const child = spawn(executable, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => output };
}

/** Runs the service's compose healthcheck (rewritten) until it passes, bounded; fails early if the service exits. */
async function waitHealthy(name: string, started: Started, check: string[], env: Record<string, string>): Promise<void> {
  const [executable, ...args] = check;
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  for (;;) {
    if (started.child.exitCode !== null) throw new Error(`${name} exited with ${started.child.exitCode}:\n${started.output()}`);
    const ok = await new Promise<boolean>((done) => {
      execFile(executable === 'node' ? process.execPath : executable!, args, { env, timeout: 3000 }, (err) => done(err === null));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name}: its healthcheck did not pass within ${HEALTH_TIMEOUT_MS} ms:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('docker-compose.yml, the Vallum services', () => {
  test("start with the image's glibc allocator settings (issue 14)", () => {
    const vallums = Object.entries(loadCompose()).filter(([, service]) => environmentOf(service)['VALLUM_SHARED_SECRET'] !== undefined);
    assert.ok(vallums.length >= 4, `${vallums.length} Vallum services`);
    for (const [name, service] of vallums) {
      const env = environmentOf(service);
      for (const [variable, value] of Object.entries(MALLOC_SETTINGS)) assert.equal(env[variable], value, `${name}: ${variable}`);
    }
  });
});

describe('the compose services, run as local processes with their compose commands and settings', () => {
  const children: Array<{ name: string; started: Started }> = [];
  let redis: RedisServer | undefined;
  let dir: string | undefined;
  const placements = new Map<string, Placement>();
  let rewrite: (text: string) => string = (t) => t;
  const publicUrl = (host: string, service: string) => `http://${host}:${placements.get(service)!.port}`;
  const internalUrl = (service: string) => `http://127.0.0.1:${placements.get(service)!.port}`;

  before(async () => {
    const services = loadCompose();
    const image = imageOf();
    assert.deepEqual(image.entrypoint.slice(0, 1), ['node']);
    for (const name of [...VALLUM_SERVICES, 'redis', 'idp', 'app']) assert.ok(services[name], `docker-compose.yml has no '${name}' service`);
    assert.match(services['redis']!.image ?? '', /^redis:7/);

    for (const [name, service] of Object.entries(services)) {
      const containerPort = containerPortOf(name, service);
      const port = name === 'redis' ? (redis = await startRedis()).port : await getFreePort();
      placements.set(name, {
        names: [name, ...aliasesOf(service)].map((n) => n.toLowerCase()),
        containerPort,
        publishedPorts: publishedPortsOf(service, containerPort),
        port,
      });
    }
    const containerPorts = [...placements.values()].map((p) => p.containerPort);
    assert.equal(new Set(containerPorts).size, containerPorts.length, `container ports must differ for this mapping: ${containerPorts.join(', ')}`);
    rewrite = createRewriter([...placements.values()]);

    dir = mkdtempSync(join(tmpdir(), 'vallum-compose-run-'));
    for (const name of startOrder(services)) {
      if (name === 'redis') continue;
      const service = services[name]!;
      const placement = placements.get(name)!;
      assert.ok(service.build === '.' || (typeof service.build === 'object' && service.build.context === '.'), `${name} is built from the Dockerfile`);
      // Bind-mounted files become rewritten copies in the temp dir (every setting but hosts and ports kept).
      const files = new Map<string, string>();
      for (const volume of service.volumes ?? []) {
        const [source = '', target = ''] = volume.split(':');
        const copy = join(dir, `${name}-${target.replaceAll('/', '_')}`);
        writeFileSync(copy, rewrite(readFileSync(resolve(ROOT, source), 'utf8')));
        files.set(target, copy);
      }
      const [entry, ...entryArgs] = image.entrypoint;
      const args = [
        // node's own flags (--max-semi-space-size) as they are, paths from the image's WORKDIR to this checkout.
        ...entryArgs.map((a) => (a.startsWith('-') ? a : resolve(ROOT, a.replace(new RegExp(`^${image.workdir}/?`), '')))),
        ...rewriteArgs(service.command ?? [], rewrite, placement, files),
      ];
      const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...image.env };
      for (const [key, value] of Object.entries(environmentOf(service))) env[key] = rewrite(value);
      const started = spawnCommand(entry === 'node' ? process.execPath : entry!, args, env, ROOT);
      children.push({ name, started });
      const check = service.healthcheck?.test;
      assert.ok(Array.isArray(check) && check[0] === 'CMD' && check[1] === 'node', `${name} has a node healthcheck in exec form (no curl in the image)`);
      await waitHealthy(name, started, check.slice(1).map(rewrite), env);
    }
  });

  after(async () => {
    for (const { started } of children.reverse()) await stopChild(started.child).catch(() => {});
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the proxy sends a browser without a session to the authenticate service', async () => {
    const app = publicUrl('app.localhost', 'proxy');
    const page = await new HeadlessBrowser().open(`${app}/some/page?x=1`);
    assert.equal(page.status, 302, page.body);
    const location = new URL(page.location ?? '');
    assert.equal(`${location.origin}${location.pathname}`, `${publicUrl('authenticate.localhost', 'authenticate')}/.vallum/sign_in`);
    assert.equal(location.searchParams.get('redirect_uri'), `${app}/some/page?x=1`);
  });

  test("authenticate sends the sign-in to the compose IdP's authorization endpoint with PKCE S256, state and nonce", async () => {
    const idp = internalUrl('idp');
    const discovery = (await (await request(`${idp}/.well-known/openid-configuration`)).body.json()) as { issuer: string; authorization_endpoint: string };
    assert.equal(discovery.issuer, idp, 'the --issuer of the idp container, rewritten like the config');
    const redirect = `${publicUrl('app.localhost', 'proxy')}/`;
    const browser = new HeadlessBrowser();
    const page = await browser.open(`${publicUrl('authenticate.localhost', 'authenticate')}/.vallum/sign_in?redirect_uri=${encodeURIComponent(redirect)}`);
    assert.equal(page.status, 302, page.body);
    const location = new URL(page.location ?? '');
    assert.equal(`${location.origin}${location.pathname}`, discovery.authorization_endpoint);
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(location.searchParams.get('code_challenge'));
    assert.ok(location.searchParams.get('state'));
    assert.ok(location.searchParams.get('nonce'));
    assert.equal(location.searchParams.get('client_id'), 'vallum');
    assert.equal(location.searchParams.get('redirect_uri'), `${publicUrl('authenticate.localhost', 'authenticate')}/oauth2/callback`);
    // The IdP knows that client and redirect URI: it answers with its login interaction, not an error.
    const atIdp = await browser.open(location.href);
    assert.equal(atIdp.status, 303, atIdp.body);
    assert.match(new URL(atIdp.location ?? '').pathname, /^\/interaction\/[\w-]+$/);
  });

  test('authorize and cache refuse calls without a service token', async () => {
    const evaluate = await request(`${internalUrl('authorize')}/v1/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await evaluate.body.dump();
    assert.equal(evaluate.statusCode, 401);
    const session = await request(`${internalUrl('cache')}/v1/sessions/x`);
    await session.body.dump();
    assert.equal(session.statusCode, 401);
  });

  test('the proxy publishes a P-256 key at /.well-known/vallum/jwks.json', async () => {
    const res = await request(`${internalUrl('proxy')}/.well-known/vallum/jwks.json`, { headers: { host: `app.localhost:${placements.get('proxy')!.port}` } });
    assert.equal(res.statusCode, 200);
    const { keys } = (await res.body.json()) as { keys: Array<Record<string, string>> };
    assert.ok(
      keys.some((k) => k['kty'] === 'EC' && k['crv'] === 'P-256'),
      JSON.stringify(keys),
    );
  });

  async function signIn(email: string): Promise<{ browser: HeadlessBrowser; page: Page; hops: string[] }> {
    const browser = new HeadlessBrowser();
    const { page: login } = await browser.follow(`${publicUrl('app.localhost', 'proxy')}/`);
    assert.equal(login.status, 200);
    assert.match(login.body, /name="password"/, 'the demo IdP login form');
    const { page, hops } = await browser.follow(`${login.url}/login`, { method: 'POST', form: { email, password: DEMO_PASSWORD } });
    return { browser, page, hops };
  }

  test('bob (engineering) signs in through all the compose services and the app verifies his identity JWT', async () => {
    const { browser, page, hops } = await signIn('bob@example.com');
    assert.equal(page.status, 200, `${page.body}\n${hops.join('\n')}`);
    assert.match(page.body, /Vallum demo app/);
    const whoami = await browser.open(`${publicUrl('app.localhost', 'proxy')}/api/whoami`);
    assert.equal(whoami.status, 200, whoami.body);
    const identity = JSON.parse(whoami.body) as { email: string; jwt: { status: string } };
    assert.equal(identity.email, 'bob@example.com');
    assert.equal(identity.jwt.status, 'verified', 'the app container fetched the JWKS from the --jwks-url in compose');
  });

  test('carol (contractors) is denied by the policy in deploy/compose/vallum.yaml', async () => {
    const { page, hops } = await signIn('carol@example.com');
    assert.equal(page.status, 403, `${page.body}\n${hops.join('\n')}`);
  });
});
