// The process lifecycle, with `vallum` as a child process: readiness that follows Redis and fails as soon as a
// shutdown starts; SIGTERM under load that drops no request and lets a slow one finish; WebSockets told 1001;
// SIGHUP reloading the config.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, request } from 'undici';
import { getFreePort, startDemoIdp, startHttpUpstream, startRedis, type DemoIdp } from '@vallum/testing';
import { spawnService, stopChild } from './harness.js';

const closers: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

const SLOW_BODY = `${'a'.repeat(64 * 1024)}${'z'.repeat(64 * 1024)}`;

/**
 * The upstream app: `/` answers at once, `/slow` sends half its body, the rest 3 s later, `/late` answers after
 * 1.5 s, `/events` never ends; `/ws` is a WebSocket.
 */
async function startUpstream(name: string): Promise<string> {
  const upstream = await startHttpUpstream((req, res) => {
    if (req.url === '/slow') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SLOW_BODY.length });
      res.write(SLOW_BODY.slice(0, SLOW_BODY.length / 2));
      setTimeout(() => res.end(SLOW_BODY.slice(SLOW_BODY.length / 2)), 3000);
      return;
    }
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const ticks = setInterval(() => res.write('data: tick\n\n'), 100);
      res.on('close', () => clearInterval(ticks));
      return;
    }
    if (req.url === '/late') {
      setTimeout(() => res.end('late'), 1500);
      return;
    }
    res.end(req.url === '/healthz' ? `${name} healthz` : name);
  });
  upstream.server.on('upgrade', (req, socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    // A text frame every 20 ms, so the shutdown's close frame has frames to fit between.
    const ticks = setInterval(() => socket.write(Buffer.concat([Buffer.from([0x81, 4]), Buffer.from('tick')])), 20);
    socket.on('data', (d: Buffer) => {
      // The client's close frame: answer it and close, as a WebSocket server does.
      if ((d[0]! & 0x0f) === 8) socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe9]));
    });
    socket.on('close', () => clearInterval(ticks));
    socket.on('error', () => {});
  });
  closers.push(() => upstream.close());
  return upstream.url;
}

let idpPromise: Promise<DemoIdp> | undefined;
/** One real IdP for the file: readiness needs its discovery document. */
function idp(): Promise<DemoIdp> {
  idpPromise ??= startDemoIdp({
    clients: [{ client_id: 'vallum', client_secret: 'idp-secret', redirect_uris: ['http://authenticate.localhost/oauth2/callback'] }],
  }).then((started) => {
    closers.push(() => started.close());
    return started;
  });
  return idpPromise;
}

interface Running {
  child: ChildProcess;
  port: number;
  /** With `metrics`: the metrics listener, e.g. http://127.0.0.1:9090 */
  metricsUrl: string | undefined;
  file: string;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `vallum --config FILE`; a port taken by a parallel test between picking and binding is picked again. */
async function startVallumProcess(options: StartOptions): Promise<Running> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startVallumOnce(options);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error)?.message).includes('EADDRINUSE')) throw err;
    }
  }
}

interface StartOptions {
  to: string;
  extra?: string;
  redisUrl?: string;
  /** Opens a metrics listener (`metrics_address`) on a free loopback port. */
  metrics?: boolean;
}

async function startVallumOnce(options: StartOptions): Promise<Running> {
  const port = await getFreePort();
  const metricsPort = options.metrics ? await getFreePort() : undefined;
  const { issuer } = await idp();
  const file = join(mkdtempSync(join(tmpdir(), 'vallum-lifecycle-')), 'vallum.yaml');
  const metricsAddress = metricsPort === undefined ? '' : `metrics_address: 127.0.0.1:${metricsPort}\n`;
  writeFileSync(file, configText(port, issuer, { ...options, extra: metricsAddress + (options.extra ?? '') }));
  let output = '';
  const child = await spawnService(file, 'all', { VALLUM_ADDRESS: `127.0.0.1:${port}`, VALLUM_LOG_LEVEL: 'info' }, port, (text) => (output += text));
  closers.push(() => stopChild(child));
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return { child, port, metricsUrl: metricsPort === undefined ? undefined : `http://127.0.0.1:${metricsPort}`, file, output: () => output, exited };
}

function configText(port: number, issuer: string, options: { to: string; extra?: string; redisUrl?: string }): string {
  return `authenticate_service_url: http://authenticate.localhost:${port}
idp: { issuer: "${issuer}", client_id: vallum, client_secret: idp-secret, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
${options.redisUrl ? `cache: { redis_url: "${options.redisUrl}" }\n` : ''}${options.extra ?? ''}
routes:
  - from: http://public.localhost:${port}
    to: ${options.to}
    allow_public_unauthenticated_access: true
    allow_websockets: true
`;
}

async function readyz(
  port: number,
  host = `public.localhost:${port}`,
  path = '/.vallum/readyz',
  origin = `http://127.0.0.1:${port}`,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`${origin}${path}`, { headers: { host }, reset: true, headersTimeout: 5000 });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch((err: unknown) => err as T);
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('SIGTERM under load: readiness fails at once, no request fails, a 3 s request in flight completes whole, exit 0', async (t) => {
  const upstream = await startUpstream('A');
  const vallum = await startVallumProcess({ to: upstream, extra: 'drain_delay: 1s\nshutdown_grace: 10s\n' });
  const { port } = vallum;
  await eventually(
    () => readyz(port),
    (r) => r.status === 200,
    10_000,
  );

  // A load balancer: sends while the instance is ready, polls /readyz, and takes the instance out when it fails.
  let inRotation = true;
  let sawNotReady = false;
  const balancer = (async () => {
    while (inRotation) {
      const r = await readyz(port).catch(() => undefined);
      if (r?.status === 503) {
        sawNotReady = true;
        inRotation = false;
      }
      await sleep(100);
    }
  })();
  let sigtermAt = Number.POSITIVE_INFINITY;
  const served = { before: 0, after: 0 };
  const failures: string[] = [];
  const client = async () => {
    const connection = new Client(`http://127.0.0.1:${port}`, { pipelining: 1 });
    try {
      while (inRotation) {
        try {
          const res = await connection.request({ method: 'GET', path: '/', headers: { host: `public.localhost:${port}` } });
          const text = await res.body.text();
          if (res.statusCode !== 200 || text !== 'A') failures.push(`${res.statusCode} ${text.slice(0, 80)}`);
          else if (Date.now() >= sigtermAt) served.after++;
          else served.before++;
        } catch (err) {
          failures.push(String(err));
        }
      }
    } finally {
      await connection.close();
    }
  };
  const load = Promise.all([client(), client(), client()]);
  await sleep(1000);

  const slowStarted = Date.now();
  const slow = request(`http://127.0.0.1:${port}/slow`, { headers: { host: `public.localhost:${port}` } }).then(async (res) => ({
    status: res.statusCode,
    connection: res.headers.connection,
    body: await res.body.text(),
  }));
  const late = request(`http://127.0.0.1:${port}/late`, { headers: { host: `public.localhost:${port}` } }).then(async (res) => ({
    connection: res.headers.connection,
    body: await res.body.text(),
  }));
  await sleep(200);
  sigtermAt = Date.now();
  process.kill(vallum.child.pid!, 'SIGTERM');

  await Promise.all([load, balancer]);
  // Past the drain delay the listener is closed: a new connection is refused while the slow request runs on.
  await sleep(Math.max(0, sigtermAt + 1500 - Date.now()));
  await assert.rejects(request(`http://127.0.0.1:${port}/`, { headers: { host: `public.localhost:${port}` } }), { code: 'ECONNREFUSED' });
  assert.equal(vallum.child.exitCode, null, 'still running: a request is in flight');

  assert.deepEqual(await late, { connection: 'close', body: 'late' }, 'a response in flight is told Connection: close');
  const answer = await slow;
  assert.equal(answer.status, 200);
  assert.equal(answer.body.length, SLOW_BODY.length, 'the slow response arrived whole');
  assert.equal(answer.body, SLOW_BODY);
  assert.ok(Date.now() - slowStarted >= 2900, 'it took its 3 s');
  assert.equal(await vallum.exited, 0);

  t.diagnostic(`${served.before} requests before SIGTERM, ${served.after} during the drain delay, ${failures.length} failed`);
  assert.deepEqual(failures, []);
  assert.ok(sawNotReady, '/readyz answered 503 during the drain');
  assert.ok(served.before > 5, `under load before SIGTERM (${served.before} requests)`);
  assert.ok(served.after > 0, `requests kept being served during the drain delay (${served.after})`);
  assert.match(vallum.output(), /shutting down/);
});

/** A raw HTTP/1.1 keep-alive connection: `get` sends one GET and resolves with the response's text once it is whole. */
async function keepAliveConnection(port: number): Promise<{ get(): Promise<string>; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  return {
    closed,
    async get() {
      data = '';
      socket.write(`GET / HTTP/1.1\r\nHost: public.localhost:${port}\r\n\r\n`);
      const whole = () => {
        const head = data.indexOf('\r\n\r\n');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(data)?.[1] ?? Number.NaN);
        return head >= 0 && data.length >= head + 4 + length;
      };
      await Promise.race([
        eventually(
          async () => whole(),
          (v) => v,
          5000,
        ),
        closed.then(() => {
          if (!whole()) throw new Error(`the connection was closed with the request unanswered (${JSON.stringify(data)})`);
        }),
      ]);
      return data;
    },
  };
}

test('SIGTERM: a keep-alive connection idle at the signal is not cut under a request sent on it (as a load balancer reuses its pooled connections): it is answered with Connection: close; one left idle is closed after a second, not at shutdown_grace', async () => {
  const upstream = await startUpstream('A');
  const vallum = await startVallumProcess({ to: upstream, extra: 'shutdown_grace: 30s\n' });
  const reused = await keepAliveConnection(vallum.port);
  const idle = await keepAliveConnection(vallum.port);
  assert.match(await reused.get(), /^HTTP\/1\.1 200[\s\S]*\r\n\r\nA$/);
  assert.match(await idle.get(), /^HTTP\/1\.1 200/);
  const signalled = Date.now();
  process.kill(vallum.child.pid!, 'SIGTERM');
  // Past the moment the listener closes: a new connection is refused, the pooled one still carries a request.
  await eventually(
    () => request(`http://127.0.0.1:${vallum.port}/`, { headers: { host: `public.localhost:${vallum.port}` } }).then(() => 'accepted'),
    (v) => (v as unknown as { code?: string })?.code === 'ECONNREFUSED',
    5000,
  );
  const answer = await reused.get();
  assert.match(answer, /^HTTP\/1\.1 200/);
  assert.match(answer, /\r\nconnection: close\r\n/i, 'told to close, so it is not used again');
  assert.match(answer, /\r\n\r\nA$/);
  await reused.closed;
  await idle.closed;
  assert.equal(await vallum.exited, 0);
  const took = Date.now() - signalled;
  assert.ok(took < 10_000, `the idle connection did not hold the exit until the 30 s deadline (${took} ms)`);
});

/** A raw WebSocket client: the upgrade, then every byte the server sends. */
async function openWebSocket(port: number): Promise<{ socket: Socket; received: () => Buffer }> {
  const socket = connect(port, '127.0.0.1');
  let data = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (data = Buffer.concat([data, d])));
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `GET /ws HTTP/1.1\r\nHost: public.localhost:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
  );
  await eventually(
    async () => data.includes('\r\n\r\n'),
    (v) => v === true,
    5000,
  );
  assert.match(data.toString('latin1'), /^HTTP\/1\.1 101/);
  const headEnd = data.indexOf('\r\n\r\n') + 4;
  return { socket, received: () => data.subarray(headEnd) };
}

/** The frames in `bytes` (server to client: unmasked, short payloads). */
function framesOf(bytes: Buffer): Array<{ opcode: number; payload: Buffer }> {
  const frames: Array<{ opcode: number; payload: Buffer }> = [];
  for (let i = 0; i + 2 <= bytes.length; ) {
    const length = bytes[i + 1]! & 0x7f;
    assert.ok(length < 126, 'short frames only');
    if (i + 2 + length > bytes.length) break;
    frames.push({ opcode: bytes[i]! & 0x0f, payload: bytes.subarray(i + 2, i + 2 + length) });
    i += 2 + length;
  }
  return frames;
}

test('SIGTERM: an open WebSocket gets a 1001 close frame between the upstream frames, and the process exits 0 once it closes', async () => {
  const upstream = await startUpstream('A');
  const vallum = await startVallumProcess({ to: upstream, extra: 'shutdown_grace: 20s\n' });
  const ws = await openWebSocket(vallum.port);
  await eventually(
    async () => framesOf(ws.received()).length,
    (n) => n >= 3,
    5000,
  );
  const signalled = Date.now();
  process.kill(vallum.child.pid!, 'SIGTERM');
  const close = await eventually(
    async () => framesOf(ws.received()).find((f) => f.opcode === 8),
    (f) => f !== undefined,
    5000,
  );
  assert.equal(close!.payload.readUInt16BE(0), 1001, 'going away');
  const frames = framesOf(ws.received());
  assert.ok(
    frames.slice(0, -1).every((f) => f.opcode === 1 && f.payload.toString() === 'tick'),
    'every frame before the close is an upstream frame, whole',
  );
  // The client answers with its own (masked) close frame, as a browser does.
  ws.socket.write(Buffer.from([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe9 ^ 2]));
  assert.equal(await vallum.exited, 0);
  assert.ok(
    Date.now() - signalled < 10_000,
    `it exited when the WebSocket closed, not at the 20 s deadline (${Date.now() - signalled} ms)\n${vallum.output()}`,
  );
});

test('SIGTERM: a stream that never ends is closed at shutdown_grace, then the process exits 0', async () => {
  const upstream = await startUpstream('A');
  const vallum = await startVallumProcess({ to: upstream, extra: 'shutdown_grace: 2s\n' });
  const res = await request(`http://127.0.0.1:${vallum.port}/events`, { headers: { host: `public.localhost:${vallum.port}` } });
  assert.equal(res.statusCode, 200);
  let events = 0;
  const ended = (async () => {
    try {
      for await (const chunk of res.body) events += String(chunk).split('data: tick').length - 1;
    } catch {
      // cut at the deadline: what matters is when
    }
  })();
  await eventually(
    async () => events,
    (n) => n >= 2,
    5000,
  );
  const signalled = Date.now();
  process.kill(vallum.child.pid!, 'SIGTERM');
  await ended;
  const after = Date.now() - signalled;
  assert.ok(after >= 1800, `the stream ran on until the deadline (${after} ms)`);
  assert.ok(after < 6000, `and ended there (${after} ms)`);
  assert.equal(await vallum.exited, 0);
});

test('a second SIGTERM during the drain exits at once, with code 1', async () => {
  const upstream = await startUpstream('A');
  const vallum = await startVallumProcess({ to: upstream, extra: 'shutdown_grace: 60s\n' });
  const res = await request(`http://127.0.0.1:${vallum.port}/events`, { headers: { host: `public.localhost:${vallum.port}` } });
  const drained = res.body.resume().on('error', () => {});
  process.kill(vallum.child.pid!, 'SIGTERM');
  await sleep(300);
  assert.equal(vallum.child.exitCode, null, 'draining: the stream holds it');
  const signalled = Date.now();
  process.kill(vallum.child.pid!, 'SIGTERM');
  assert.equal(await vallum.exited, 1);
  assert.ok(Date.now() - signalled < 3000, 'at once, not at the 60 s deadline');
  drained.destroy();
});

test('readiness follows Redis: 200, 503 within seconds of it stopping, 200 again once it is back; why is told on the metrics listener and in the log, never on a route host', async (t) => {
  const redis = await startRedis();
  closers.push(() => redis.stop());
  const upstream = await startUpstream('A');
  const vallum = await startVallumProcess({ to: upstream, redisUrl: redis.url, metrics: true });
  const { port } = vallum;
  const detailed = () => readyz(port, '127.0.0.1', '/readyz', vallum.metricsUrl);
  const ready = await eventually(
    () => readyz(port),
    (r) => r.status === 200,
    10_000,
  );
  assert.deepEqual(ready.body, { status: 'ready', service: 'vallum' });
  assert.deepEqual(
    ((await detailed()).body.checks as Array<{ name: string; ok: boolean }>).map((c) => [c.name, c.ok]),
    [
      ['redis', true],
      ['idp', true],
    ],
  );
  // All-in-one answers the probes at the root of the authenticate host too; a route host's /healthz is the app's.
  assert.equal((await readyz(port, `authenticate.localhost:${port}`, '/readyz')).status, 200);
  const live = await request(`http://127.0.0.1:${port}/healthz`, { headers: { host: `authenticate.localhost:${port}` } });
  assert.deepEqual(await live.body.json(), { status: 'ok', service: 'vallum' });
  const appHealth = await request(`http://127.0.0.1:${port}/healthz`, { headers: { host: `public.localhost:${port}` } });
  assert.equal(await appHealth.body.text(), 'A healthz');

  await redis.stop();
  const stoppedAt = Date.now();
  const down = await eventually(
    () => readyz(port),
    (r) => r.status === 503,
    5000,
  );
  assert.ok(Date.now() - stoppedAt < 3000, `503 within a couple of seconds (${Date.now() - stoppedAt} ms)`);
  // What anyone who reaches an app can ask: ready or not, no check names, no error text, host names or ports.
  assert.deepEqual(down.body, { status: 'not ready', service: 'vallum' });
  const onAuthenticateHost = await readyz(port, `authenticate.localhost:${port}`, '/readyz');
  assert.deepEqual(onAuthenticateHost, { status: 503, body: { status: 'not ready', service: 'vallum' } });
  for (let i = 0; i < 5; i++) await readyz(port);
  // What operators see: the metrics listener's report, and one log line for the change, not one per probe.
  const report = await detailed();
  assert.equal(report.status, 503);
  const redisCheck = (report.body.checks as Array<{ name: string; ok: boolean; detail?: string }>).find((c) => c.name === 'redis');
  assert.deepEqual(redisCheck, { name: 'redis', ok: false, detail: 'session store unavailable' });
  assert.doesNotMatch(JSON.stringify(report.body), /redis:\/\/|secret/, 'no URL or secret in the report');
  const notReadyLines = () => vallum.output().split('not ready: redis (').length - 1;
  assert.equal(notReadyLines(), 1, 'logged once, for the change');
  assert.match(vallum.output(), /not ready: redis \(session store unavailable\)/);

  const notReadyAfter = Date.now() - stoppedAt;
  await redis.restart();
  const restartedAt = Date.now();
  await eventually(
    () => readyz(port),
    (r) => r.status === 200,
    10_000,
  );
  await eventually(
    async () => vallum.output().split('ready: every readiness check passes').length - 1,
    (n) => n === 2,
    2000,
  );
  assert.equal(notReadyLines(), 1);
  t.diagnostic(`503 ${notReadyAfter} ms after Redis stopped; 200 again ${Date.now() - restartedAt} ms after it restarted`);
  await stopChild(vallum.child);
  assert.equal(await vallum.exited, 0);
});

test('SIGHUP reloads the config file through the same path as a file change, and logs it', async () => {
  const [a, b] = [await startUpstream('A'), await startUpstream('B')];
  const vallum = await startVallumProcess({ to: a });
  const { port } = vallum;
  const body = async () => (await request(`http://127.0.0.1:${port}/`, { headers: { host: `public.localhost:${port}` } })).body.text();
  assert.equal(await body(), 'A');
  const reloads = () => vallum.output().split('configuration reloaded').length - 1;

  process.kill(vallum.child.pid!, 'SIGHUP');
  await eventually(
    async () => reloads(),
    (n) => n === 1,
    5000,
  );
  assert.match(vallum.output(), /SIGHUP: reloading the configuration/);
  assert.equal(await body(), 'A', 'an unchanged file reloads to the same routes');

  writeFileSync(vallum.file, configText(port, (await idp()).issuer, { to: b }));
  process.kill(vallum.child.pid!, 'SIGHUP');
  await eventually(body, (text) => text === 'B', 5000);
  assert.equal(vallum.child.exitCode, null, 'SIGHUP never stops the process');
});

test('split: the proxy is ready only while authorize and cache answer their /readyz; each service answers its own probes', async () => {
  const upstream = await startUpstream('A');
  const [proxyPort, authorizePort, cachePort] = [await getFreePort(), await getFreePort(), await getFreePort()];
  const file = join(mkdtempSync(join(tmpdir(), 'vallum-lifecycle-')), 'vallum.yaml');
  writeFileSync(
    file,
    configText(proxyPort, 'http://127.0.0.1:9', { to: upstream }).replace(
      'shared_secret:',
      `authorize_service_url: http://127.0.0.1:${authorizePort}\ncache_service_url: http://127.0.0.1:${cachePort}\nshared_secret:`,
    ),
  );
  const spawnOne = async (service: string, port: number, env: Record<string, string> = {}) => {
    const child = await spawnService(file, service, { VALLUM_ADDRESS: `127.0.0.1:${port}`, ...env }, port);
    closers.push(() => stopChild(child));
    return child;
  };
  const cache = await spawnOne('cache', cachePort);
  const metricsPort = await getFreePort();
  const proxy = await spawnOne('proxy', proxyPort, { VALLUM_METRICS_ADDRESS: `127.0.0.1:${metricsPort}` });
  // The checks by name are the metrics listener's to tell; the proxy's listener says ready or not ready.
  const names = async () => {
    const r = await readyz(proxyPort, `127.0.0.1:${metricsPort}`, '/readyz', `http://127.0.0.1:${metricsPort}`);
    return (r.body.checks as Array<{ name: string; ok: boolean }>).map((c) => `${c.name}:${c.ok}`);
  };

  const waiting = await readyz(proxyPort);
  assert.deepEqual(waiting, { status: 503, body: { status: 'not ready', service: 'proxy' } }, 'authorize is not running yet');
  assert.deepEqual(await names(), ['authorize:false', 'cache:true']);
  const authorize = await spawnOne('authorize', authorizePort);
  const ready = await eventually(
    () => readyz(proxyPort),
    (r) => r.status === 200,
    10_000,
  );
  assert.deepEqual(ready.body, { status: 'ready', service: 'proxy' });
  assert.deepEqual(await names(), ['authorize:true', 'cache:true']);
  for (const port of [authorizePort, cachePort]) {
    assert.equal((await readyz(port, `127.0.0.1:${port}`, '/readyz')).status, 200);
    assert.equal((await readyz(port, `127.0.0.1:${port}`, '/healthz')).status, 200);
  }

  await stopChild(cache);
  assert.equal(cache.exitCode, 0);
  const down = await eventually(
    () => readyz(proxyPort),
    (r) => r.status === 503,
    5000,
  );
  assert.deepEqual(down.body, { status: 'not ready', service: 'proxy' });
  assert.deepEqual(await names(), ['authorize:true', 'cache:false']);
  for (const child of [proxy, authorize]) {
    await stopChild(child);
    assert.equal(child.exitCode, 0);
  }
});
