// Hot reload: a changed config file is applied to new requests within a second, in-flight requests finish on the
// config that accepted them, and a broken file keeps the running config (and says where it is broken).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { loadVallumConfig, loadVallumConfigText, startVallum, watchConfigFile } from '@vallum/cmd';
import { getFreePort } from '@vallum/testing';
import { VALLUM_BIN, stopChild } from './harness.js';

const closers: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

/** An upstream that answers its name, slowly for /slow; `seen` is told each request. */
async function named(name: string, seen?: (req: IncomingMessage) => void): Promise<string> {
  const server: Server = createServer((req, res) => {
    seen?.(req);
    const reply = () => res.end(name);
    if (req.url === '/slow') setTimeout(reply, 1000);
    else reply();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function configText(port: number, to: string): string {
  return `authenticate_service_url: http://authenticate.localhost:${port}
authorize_service_url: http://127.0.0.1:9
cache_service_url: http://127.0.0.1:9
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: s, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
routes:
  - from: http://public.localhost:${port}
    to: ${to}
    allow_public_unauthenticated_access: true
`;
}

async function body(port: number, path = '/'): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { host: `public.localhost:${port}` } });
  return res.body.text();
}

async function eventually(check: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

test('all-in-one: a changed file applies within a second; in-flight requests finish; a broken file is refused', async () => {
  const [a, b] = [await named('A'), await named('B')];
  const port = await getFreePort();
  const file = join(mkdtempSync(join(tmpdir(), 'vallum-reload-')), 'vallum.yaml');
  writeFileSync(file, configText(port, a));
  const vallum = await startVallum(loadVallumConfig(file, { env: {} }), { address: `127.0.0.1:${port}`, logger: false });
  closers.push(() => vallum.close());
  const errors: string[] = [];
  const watcher = watchConfigFile(file, { env: {}, onConfig: (c) => vallum.reload(c), onError: (e) => errors.push(String((e as Error).message)) });
  closers.push(() => watcher.close());

  assert.equal(await body(port), 'A');
  const inFlight = body(port, '/slow');
  await new Promise((r) => setTimeout(r, 100));
  writeFileSync(file, configText(port, b));
  const took = await eventually(async () => (await body(port)) === 'B', 1000);
  assert.ok(took <= 1000);
  assert.equal(await inFlight, 'A', 'the request accepted before the reload finished on the old config');

  writeFileSync(file, configText(port, b).replace('allow_public_unauthenticated_access: true', 'allow_public_unauthenticated_acess: true'));
  await eventually(async () => errors.length > 0, 2000);
  assert.match(errors[0]!, /vallum\.yaml:10:5: unknown key 'allow_public_unauthenticated_acess'/);
  assert.equal(await body(port), 'B', 'the running config stays in force');
});

test('split: a proxy process reloads its file, and logs file:line:column for a broken one', async () => {
  const [a, b] = [await named('A'), await named('B')];
  const port = await getFreePort();
  const file = join(mkdtempSync(join(tmpdir(), 'vallum-reload-')), 'vallum.yaml');
  writeFileSync(file, configText(port, a));
  const child = spawn(process.execPath, [VALLUM_BIN, '--config', file, '--service', 'proxy', '--address', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  closers.push(() => stopChild(child));
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(async () => output.includes('listening on'), 15_000);
  assert.equal(await body(port), 'A');

  writeFileSync(file, configText(port, b));
  await eventually(async () => (await body(port)) === 'B', 1500);

  writeFileSync(file, 'routes: [\n');
  await eventually(async () => output.includes('configuration not reloaded'), 3000);
  assert.match(output, /vallum\.yaml:\d+:\d+: YAML syntax/);
  assert.equal(await body(port), 'B');
  assert.equal(child.exitCode, null, 'a broken file never stops the service');
});

test('a reload that keeps an upstream keeps its keep-alive connections (the pools outlive the config)', async () => {
  const ports: number[] = [];
  const to = await named('ok', (req) => ports.push(req.socket.remotePort!));
  const port = await getFreePort();
  const vallum = await startVallum(loadVallumConfigText(configText(port, to), 'vallum.yaml', { env: {} }), { address: `127.0.0.1:${port}`, logger: false });
  closers.push(() => vallum.close());

  assert.equal(await body(port), 'ok');
  // Another route to the same upstream, the first one unchanged.
  const more = `${configText(port, to)}  - from: http://other.localhost:${port}\n    to: ${to}\n    allow_public_unauthenticated_access: true\n`;
  await vallum.reload(loadVallumConfigText(more, 'vallum.yaml', { env: {} }));
  assert.equal(await body(port), 'ok');
  const other = await request(`http://127.0.0.1:${port}/`, { headers: { host: `other.localhost:${port}` } });
  assert.equal(await other.body.text(), 'ok');
  assert.equal(ports.length, 3);
  assert.deepEqual(new Set(ports).size, 1, 'one upstream connection before and after the reload, shared by both routes');
});
