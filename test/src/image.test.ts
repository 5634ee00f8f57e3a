// The container image without a Docker engine: the runtime stage's files are laid out by the very script the
// Dockerfile runs (scripts/install-runtime.mjs: shipped workspaces, compiled JavaScript, production dependencies
// only) into a temp dir, and `vallum` is started from there with the image's ENTRYPOINT, ENV and HEALTHCHECK. A
// package used at run time but not installed in production (a devDependency, a hoisting accident) fails here.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort } from '@vallum/testing';
import { stopChild } from './harness.js';
import { imageProblems, inImageDir, MALLOC_SETTINGS, readDockerfile, runtimeImage } from './dockerfile.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INSTALL_TIMEOUT_MS = 180_000;
const START_TIMEOUT_MS = 30_000;

/** Packages that only the tests, the benchmarks or the build use. */
const DEV_ONLY = [
  ...Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies),
  'playwright',
  'playwright-core',
  'http-proxy',
  '@fastify/http-proxy',
  '@vallum/testing',
  '@vallum/test',
  '@vallum/bench',
];

/** The status of a GET on its own connection (none is left open to delay the server's exit), or 0 on error. */
function statusOf(url: URL): Promise<number> {
  return new Promise((done) => {
    const req = get(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(0));
  });
}

/** Every path under `dir` (relative), not following symlinks. */
function walk(dir: string, base = dir, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    out.push(relative(base, full));
    if (lstatSync(full).isDirectory()) walk(full, base, out);
  }
  return out;
}

describe('the runtime image, laid out by scripts/install-runtime.mjs as the Dockerfile does', () => {
  const image = runtimeImage(readDockerfile());
  let tmp: string;
  let app: string;
  let installMs = 0;
  /** The image's ENTRYPOINT (without its init) and ENV, run from the copy of /app; nothing else of this machine's. */
  const run = (args: string[]) => {
    const [node, ...entry] = image.command;
    assert.equal(node, 'node');
    return {
      executable: process.execPath,
      args: [...entry.map((a) => (a.startsWith('-') ? a : inImageDir(a, image.workdir, app))), ...args],
      options: { cwd: app, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmp, ...image.env } },
    };
  };
  const vallum = (...args: string[]) => {
    const r = run(args);
    return spawnSync(r.executable, r.args, { ...r.options, encoding: 'utf8', timeout: START_TIMEOUT_MS });
  };

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'vallum-image-'));
    app = join(tmp, 'app');
    const started = Date.now();
    const install = spawnSync(process.execPath, [join(ROOT, 'scripts/install-runtime.mjs'), app], { encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS });
    installMs = Date.now() - started;
    assert.equal(install.status, 0, `install-runtime failed:\n${install.stdout}\n${install.stderr}`);
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('holds the command and its workspaces, and no tests, TypeScript, test or bench workspaces or dev tools', (t) => {
    t.diagnostic(`install-runtime (npm ci --omit=dev from the npm cache) took ${(installMs / 1000).toFixed(1)} s`);
    const files = walk(app);
    const own = files.filter((f) => !f.startsWith('node_modules/'));
    for (const ws of ['cmd/vallum', 'packages/demo', 'services/proxy', 'services/authenticate', 'services/authorize', 'services/cache']) {
      assert.ok(existsSync(join(app, ws, 'package.json')) && existsSync(join(app, ws, 'dist/index.js')), `${ws} is shipped`);
    }
    for (const ws of ['test', 'bench', 'packages/testing']) assert.ok(!existsSync(join(app, ws)), `${ws} is not shipped`);
    const unwanted = own.filter((f) => /\.ts$|\.tsbuildinfo$|(^|\/)tsconfig[^/]*\.json$|\.test\.js|(^|\/)(dist-test|src)(\/|$)/.test(f));
    assert.deepEqual(unwanted, [], 'no TypeScript sources or declarations, build info, tsconfig or tests');
    const packages = new Set(
      files
        .filter((f) => f.startsWith('node_modules/'))
        .map((f) =>
          f
            .split('/')
            .slice(1, f.split('/')[1]!.startsWith('@') ? 3 : 2)
            .join('/'),
        ),
    );
    const dev = [...packages].filter((p) => DEV_ONLY.includes(p) || p.startsWith('@types/') || p.startsWith('@biomejs/') || p.startsWith('@typescript/'));
    assert.deepEqual(dev, [], 'no dev-only packages');
    for (const p of [...packages].filter((n) => n.startsWith('@vallum/'))) {
      assert.ok(realpathSync(join(app, 'node_modules', p)).startsWith(`${realpathSync(app)}/`), `${p} links inside the image`);
    }
    // What `vallum demo` needs is there, in production: the demo IdP is oidc-provider.
    assert.ok(packages.has('oidc-provider'));
  });

  test('vallum --version runs from it', () => {
    const res = vallum('--version');
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^vallum \d+\.\d+\.\d+/);
  });

  describe('with a config', () => {
    let configFile: string;
    let port: number;

    before(async () => {
      port = await getFreePort();
      configFile = join(tmp, 'vallum.yaml');
      writeFileSync(
        configFile,
        `address: 127.0.0.1:${port}
authenticate_service_url: http://authenticate.localhost:${port}
idp:
  issuer: http://127.0.0.1:9
  client_id: vallum
  client_secret: image-test-client-secret
  allow_insecure_http: true
shared_secret: image-test-shared-secret-0123456789abcdef
cookie_secret: image-test-cookie-secret-0123456789abcdef
routes:
  - from: http://app.localhost:${port}
    to: http://127.0.0.1:9
    allow_any_authenticated_user: true
`,
      );
    });

    test('vallum validate accepts it', () => {
      const res = vallum('validate', '--config', configFile);
      assert.equal(res.status, 0, `${res.stdout}${res.stderr}`);
      assert.match(res.stdout, /ok/);
    });

    test("all-in-one with the in-memory store starts, answers the image's HEALTHCHECK, and stops on SIGTERM", async () => {
      const r = run(['--config', configFile]);
      const child = spawn(r.executable, r.args, { ...r.options, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      // The HEALTHCHECK's command as Docker runs it, its URL's port moved to this test's.
      const [checkNode, ...checkArgs] = image.healthcheck ?? [];
      assert.equal(checkNode, 'node');
      const url = new URL(image.env['VALLUM_HEALTHCHECK_URL']!);
      url.port = String(port);
      const healthcheck = () =>
        new Promise<number>((done) => {
          execFile(process.execPath, checkArgs, { env: { ...r.options.env, VALLUM_HEALTHCHECK_URL: url.href }, timeout: 5000 }, (err) =>
            done(err ? Number((err as { code?: number }).code ?? 1) : 0),
          );
        });
      try {
        const deadline = Date.now() + START_TIMEOUT_MS;
        for (;;) {
          assert.equal(child.exitCode, null, `vallum exited with ${child.exitCode}:\n${output}`);
          if ((await statusOf(url)) === 200) break;
          assert.ok(Date.now() < deadline, `${url.href} did not answer 200 within ${START_TIMEOUT_MS} ms:\n${output}`);
          await new Promise((done) => setTimeout(done, 200));
        }
        assert.equal(await healthcheck(), 0, 'the HEALTHCHECK passes');
        // The serving process runs with glibc's allocator settings from the image's ENV (bench/README.md, issue 14).
        const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
        for (const [name, value] of Object.entries(MALLOC_SETTINGS)) assert.ok(environ.includes(`${name}=${value}`), `${name}=${value} in its environment`);
      } finally {
        await stopChild(child);
      }
      assert.equal(child.exitCode, 0, output);
      assert.notEqual(await healthcheck(), 0, 'the HEALTHCHECK fails once nothing answers');
    });
  });

  test('vallum demo starts from it: the demo IdP (oidc-provider) is a production dependency', async () => {
    const [port, idpPort, appPort] = [await getFreePort(), await getFreePort(), await getFreePort()];
    const r = run(['demo', '--port', String(port), '--idp-port', String(idpPort), '--app-port', String(appPort)]);
    const child = spawn(r.executable, r.args, { ...r.options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (!/Ctrl-C stops everything/.test(output)) {
        assert.equal(child.exitCode, null, `vallum demo exited with ${child.exitCode}:\n${output}`);
        assert.ok(Date.now() < deadline, `vallum demo was not ready within ${START_TIMEOUT_MS} ms:\n${output}`);
        await new Promise((done) => setTimeout(done, 200));
      }
      const discovery = await fetch(`http://127.0.0.1:${idpPort}/.well-known/openid-configuration`);
      assert.equal(discovery.status, 200);
      assert.equal(((await discovery.json()) as { issuer: string }).issuer, `http://127.0.0.1:${idpPort}`);
    } finally {
      await stopChild(child);
    }
  });
});

describe('the Dockerfile', () => {
  test('builds in stages; the runtime stage is Node LTS slim, non-root, under tini, with a HEALTHCHECK and the install-runtime files only', () => {
    assert.deepEqual(imageProblems(readDockerfile()), []);
  });

  test('each breach is reported: the single-stage, root, init-less image with its sources copied in', () => {
    const bad = `FROM node:20-bookworm-slim
WORKDIR /src
COPY . .
RUN npm ci && npx tsc -b
ENTRYPOINT ["node", "cmd/vallum/bin/vallum.js"]
`;
    const problems = imageProblems(bad);
    for (const expected of [
      /one stage only/,
      /runtime base node:20-bookworm-slim/,
      /COPY \. \.: the runtime stage copies only from an earlier stage/,
      /no USER/,
      /no HEALTHCHECK/,
      /does not start an init/,
      /install-runtime/,
      /does not start node with --max-semi-space-size=8/,
    ]) {
      assert.ok(
        problems.some((p) => expected.test(p)),
        `${expected} in:\n${problems.join('\n')}`,
      );
    }
  });

  test('the image before this check: two stages, but Node 20, user by name, no HEALTHCHECK or init, and the whole build tree copied', () => {
    const before = `FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund \\
 && npx tsc -b tsconfig.build.json \\
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src /app
USER node
ENTRYPOINT ["node", "cmd/vallum/bin/vallum.js"]
`;
    const problems = imageProblems(before);
    assert.ok(!problems.some((p) => /one stage only|copies only from an earlier stage/.test(p)), problems.join('\n'));
    for (const expected of [
      /node:20/,
      /USER node: expected a numeric/,
      /no HEALTHCHECK/,
      /does not start an init/,
      /no earlier stage runs `node scripts\/install-runtime\.mjs DIR`/,
    ]) {
      assert.ok(
        problems.some((p) => expected.test(p)),
        `${expected} in:\n${problems.join('\n')}`,
      );
    }
  });
});
