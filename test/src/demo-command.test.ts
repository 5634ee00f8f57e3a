// `vallum demo` (all-in-one + IdP + app, on the ports asked for) and the `demo-idp` / `demo-app` commands the compose
// containers run, as a user starts them: a real process, stopped with SIGTERM.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { getFreePort } from '@vallum/testing';
import { VALLUM_BIN } from './harness.js';

const START_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 5_000;

interface Running {
  child: ChildProcess;
  output: () => string;
}

/** Spawns `vallum ...args` and waits (bounded) until its output matches `ready`. */
async function startVallumCommand(args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [VALLUM_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const running = { child, output: () => output };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`vallum ${args[0]} printed nothing matching ${ready} within ${START_TIMEOUT_MS} ms:\n${output}`)),
      START_TIMEOUT_MS,
    );
    const onData = (d: Buffer) => {
      output += d.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`vallum ${args[0]} exited with ${code} before it was ready:\n${output}`));
    };
    const fail = (err: Error) => {
      child.off('exit', onExit);
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      reject(err);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', onExit);
  });
  child.removeAllListeners('exit');
  return running;
}

/** SIGTERM by PID; resolves with the exit code, or null if it had to be killed after EXIT_TIMEOUT_MS. */
async function terminate(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  process.kill(child.pid!, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), EXIT_TIMEOUT_MS)));
  const result = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (result !== 'timeout') return result;
  process.kill(child.pid!, 'SIGKILL');
  await exited;
  return null;
}

/** Exit code of a command that should refuse to start (bounded). */
async function exitCodeOf(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [VALLUM_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), START_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}

describe('vallum demo --port P --idp-port Q --app-port R', () => {
  let demo: Running | undefined;
  let port: number;
  let idpPort: number;
  let appPort: number;

  before(async () => {
    [port, idpPort, appPort] = [await getFreePort(), await getFreePort(), await getFreePort()];
    demo = await startVallumCommand(['demo', '--port', String(port), '--idp-port', String(idpPort), '--app-port', String(appPort)], /Ctrl-C stops everything/);
  });

  after(async () => {
    if (demo && demo.child.exitCode === null) await terminate(demo.child);
  });

  test('prints the banner with the route hosts and the IdP on the ports asked for', () => {
    const out = demo!.output();
    assert.match(out, /Vallum demo is running/);
    assert.ok(out.includes(`http://app.localhost:${port}/`), out);
    assert.ok(out.includes(`http://public.localhost:${port}/`), out);
    assert.ok(out.includes(`http://127.0.0.1:${idpPort}`), out);
  });

  test('serves the JWKS, the IdP on --idp-port and the demo app on --app-port', async () => {
    const jwks = await request(`http://127.0.0.1:${port}/.well-known/vallum/jwks.json`);
    assert.equal(jwks.statusCode, 200);
    const { keys } = (await jwks.body.json()) as { keys: Array<Record<string, string>> };
    assert.ok(keys.some((k) => k['crv'] === 'P-256'));
    const discovery = await request(`http://127.0.0.1:${idpPort}/.well-known/openid-configuration`);
    assert.equal(discovery.statusCode, 200);
    assert.equal(((await discovery.body.json()) as { issuer: string }).issuer, `http://127.0.0.1:${idpPort}`);
    const app = await request(`http://127.0.0.1:${appPort}/`);
    assert.equal(app.statusCode, 200);
    assert.match(await app.body.text(), /Vallum demo app/);
  });

  test('public.localhost gets the demo app without sign-in', async () => {
    const res = await request(`http://127.0.0.1:${port}/`, { headers: { host: `public.localhost:${port}` } });
    assert.equal(res.statusCode, 200);
    assert.match(await res.body.text(), /Vallum demo app/);
  });

  test('app.localhost redirects to sign-in', async () => {
    const res = await request(`http://127.0.0.1:${port}/`, { headers: { host: `app.localhost:${port}` } });
    await res.body.dump();
    assert.equal(res.statusCode, 302);
    const location = new URL(String(res.headers['location']));
    assert.equal(`${location.origin}${location.pathname}`, `http://authenticate.localhost:${port}/.vallum/sign_in`);
    assert.equal(location.searchParams.get('redirect_uri'), `http://app.localhost:${port}/`);
  });

  test('SIGTERM stops it with exit code 0 within 5 s', async () => {
    const code = await terminate(demo!.child);
    assert.equal(code, 0, `exit ${code}:\n${demo!.output()}`);
  });
});

describe('vallum demo-idp and demo-app (the compose idp and app containers)', () => {
  test('demo-idp serves the --issuer it is given, not its bind address, and stops on SIGTERM', async () => {
    const port = await getFreePort();
    const issuer = `http://idp.localhost:${port}`;
    const idp = await startVallumCommand(
      [
        'demo-idp',
        '--port',
        String(port),
        '--issuer',
        issuer,
        '--client-id',
        'vallum',
        '--client-secret-env',
        'TEST_DEMO_SECRET',
        '--redirect-uri',
        'http://authenticate.localhost:8001/oauth2/callback',
        '--post-logout-redirect-uri',
        'http://authenticate.localhost:8001/.vallum/signed_out',
      ],
      /listening/,
      { TEST_DEMO_SECRET: 'a-client-secret-from-the-environment' },
    );
    try {
      assert.ok(!idp.output().includes('a-client-secret-from-the-environment'), 'the secret is never printed');
      // As a browser or the authenticate container asks it (Host idp.localhost:PORT); oidc-provider builds the
      // endpoint URLs from the Host it was asked on, the issuer from the option.
      const host = new URL(issuer).host;
      const res = await request(`http://127.0.0.1:${port}/.well-known/openid-configuration`, { headers: { host } });
      assert.equal(res.statusCode, 200);
      const doc = (await res.body.json()) as { issuer: string; authorization_endpoint: string };
      assert.equal(doc.issuer, issuer);
      assert.ok(doc.authorization_endpoint.startsWith(`${issuer}/`), doc.authorization_endpoint);
      // The client from the flags is registered: an authorization request for it reaches the login interaction.
      const auth = new URL(doc.authorization_endpoint.replace(issuer, `http://127.0.0.1:${port}`));
      auth.search = new URLSearchParams({
        client_id: 'vallum',
        redirect_uri: 'http://authenticate.localhost:8001/oauth2/callback',
        response_type: 'code',
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        state: 's',
        nonce: 'n',
      }).toString();
      const authRes = await request(auth, { headers: { host } });
      await authRes.body.dump();
      assert.equal(authRes.statusCode, 303);
      assert.match(String(authRes.headers['location']), /\/interaction\/[\w-]+$/);
    } finally {
      assert.equal(await terminate(idp.child), 0);
    }
  });

  test('demo-idp refuses to start without the client secret in the environment', async () => {
    const { code, output } = await exitCodeOf(
      ['demo-idp', '--port', '0', '--client-secret-env', 'TEST_DEMO_SECRET_UNSET', '--redirect-uri', 'http://a.localhost/cb'],
      {},
    );
    assert.equal(code, 2, output);
    assert.match(output, /TEST_DEMO_SECRET_UNSET/);
  });

  test('demo-app answers on --port and stops on SIGTERM', async () => {
    const port = await getFreePort();
    const app = await startVallumCommand(['demo-app', '--port', String(port), '--jwks-url', 'http://127.0.0.1:1/.well-known/vallum/jwks.json'], /listening/);
    try {
      const res = await request(`http://127.0.0.1:${port}/api/whoami`);
      assert.equal(res.statusCode, 200);
      assert.equal(((await res.body.json()) as { jwt: { status: string } }).jwt.status, 'missing');
    } finally {
      assert.equal(await terminate(app.child), 0);
    }
  });

  test('a bad --port is a usage error (exit 2)', async () => {
    const { code, output } = await exitCodeOf(['demo-app', '--port', 'eighty', '--jwks-url', 'http://127.0.0.1:1/jwks.json'], {});
    assert.equal(code, 2, output);
    assert.match(output, /--port must be a port number/);
  });
});
