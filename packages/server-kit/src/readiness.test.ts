import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createServer as createFastifyServer } from './create-server.js';
import { anyProbe, createProbeResponder, createReadiness, type ProbeResponder } from './readiness.js';

const ok = (name: string) => ({ name, check: async () => {} });

test('ready when every check answers; a failing check names itself and says why', async () => {
  let redisUp = true;
  const readiness = createReadiness(
    [
      ok('config'),
      {
        name: 'redis',
        check: async () => {
          if (!redisUp) throw new Error('session store unavailable');
        },
      },
    ],
    { cacheMs: 0 },
  );
  assert.deepEqual(await readiness.check(), {
    ready: true,
    draining: false,
    checks: [
      { name: 'config', ok: true },
      { name: 'redis', ok: true },
    ],
  });
  redisUp = false;
  const report = await readiness.check();
  assert.equal(report.ready, false);
  assert.deepEqual(report.checks[1], { name: 'redis', ok: false, detail: 'session store unavailable' });
});

test('a check that never answers fails at its deadline instead of hanging the probe', async () => {
  const readiness = createReadiness([{ name: 'idp', check: () => new Promise<void>(() => {}) }, ok('config')], { timeoutMs: 50 });
  const started = performance.now();
  const report = await readiness.check();
  assert.ok(performance.now() - started < 1000, 'answered near the 50 ms deadline');
  assert.equal(report.ready, false);
  assert.deepEqual(report.checks[0], { name: 'idp', ok: false, detail: 'no answer within 50 ms' });
  assert.deepEqual(report.checks[1], { name: 'config', ok: true });
});

test('a check that throws synchronously is a failed check, not a failed probe', async () => {
  const readiness = createReadiness([
    {
      name: 'cache',
      check: () => {
        throw new Error('not wired');
      },
    },
  ]);
  assert.deepEqual((await readiness.check()).checks, [{ name: 'cache', ok: false, detail: 'not wired' }]);
});

test('reports are reused for cacheMs: a flood of probes costs one round of checks', async () => {
  let t = 0;
  let runs = 0;
  const readiness = createReadiness([{ name: 'redis', check: async () => void runs++ }], { cacheMs: 1000, now: () => t });
  await Promise.all(Array.from({ length: 100 }, () => readiness.check()));
  assert.equal(runs, 1);
  t = 999;
  await readiness.check();
  assert.equal(runs, 1);
  t = 1000;
  await readiness.check();
  assert.equal(runs, 2, 'checked again once the report is a second old');
});

test('draining fails readiness at once, even with a fresh ready report cached', async () => {
  const readiness = createReadiness([ok('redis')], { cacheMs: 60_000 });
  assert.equal((await readiness.check()).ready, true);
  readiness.startDraining();
  assert.equal(readiness.draining, true);
  const report = await readiness.check();
  assert.equal(report.ready, false);
  assert.equal(report.draining, true);
});

async function serve(probes: ProbeResponder): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (!probes(req, res)) res.end('app');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('the responder answers /healthz and /readyz (200, then 503) and leaves every other request alone', async (t) => {
  let up = true;
  const readiness = createReadiness(
    [
      {
        name: 'redis',
        check: async () => {
          if (!up) throw new Error('connect ECONNREFUSED redis.internal:6379');
        },
      },
    ],
    { cacheMs: 0 },
  );
  const { url, server } = await serve(createProbeResponder(readiness, { service: 'cache' }));
  t.after(() => server.close());

  const live = await fetch(`${url}/healthz`);
  assert.equal(live.status, 200);
  assert.deepEqual(await live.json(), { status: 'ok', service: 'cache' });
  const ready = await fetch(`${url}/readyz?verbose=1`);
  assert.equal(ready.status, 200);
  assert.equal(ready.headers.get('cache-control'), 'no-store');
  assert.deepEqual(await ready.json(), { status: 'ready', service: 'cache' });
  up = false;
  for (const path of ['/readyz', '/readyz?verbose=1', '/readyz?details']) {
    const notReady = await fetch(url + path);
    assert.equal(notReady.status, 503, path);
    assert.equal(await notReady.text(), '{"status":"not ready","service":"cache"}', `${path}: no check names, no error text`);
  }
  for (const path of ['/healthzz', '/readyz/x', '/', '/v1/healthz']) assert.equal(await (await fetch(url + path)).text(), 'app', path);
  assert.equal(await (await fetch(`${url}/healthz`, { method: 'POST' })).text(), 'app', 'only GET and HEAD are probes');
});

test('with details (the metrics listener), /readyz names each check and says why one fails', async (t) => {
  let up = true;
  const readiness = createReadiness(
    [
      ok('config'),
      {
        name: 'redis',
        check: async () => {
          if (!up) throw new Error('session store unavailable');
        },
      },
    ],
    { cacheMs: 0 },
  );
  const { url, server } = await serve(createProbeResponder(readiness, { service: 'cache', details: true }));
  t.after(() => server.close());
  const ready = await fetch(`${url}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), {
    status: 'ready',
    service: 'cache',
    ready: true,
    draining: false,
    checks: [
      { name: 'config', ok: true },
      { name: 'redis', ok: true },
    ],
  });
  up = false;
  const notReady = await fetch(`${url}/readyz`);
  assert.equal(notReady.status, 503);
  assert.deepEqual(await notReady.json(), {
    status: 'not ready',
    service: 'cache',
    ready: false,
    draining: false,
    checks: [
      { name: 'config', ok: true },
      { name: 'redis', ok: false, detail: 'session store unavailable' },
    ],
  });
});

test("a service's fastify app has no /healthz of its own: the listener's probe responder is the one answer", async (t) => {
  const app = createFastifyServer({ service: 'authorize', logger: false });
  t.after(() => app.close());
  for (const url of ['/healthz', '/.vallum/healthz']) assert.equal((await app.inject({ method: 'GET', url })).statusCode, 404, url);
});

test('the log says why readiness fails once per change, not once per probe', async () => {
  let failing: string[] = [];
  const check = (name: string) => ({
    name,
    check: async () => {
      if (failing.includes(name)) throw new Error(`${name} unavailable`);
    },
  });
  const lines: Array<[string, object, string]> = [];
  const log = {
    info: (fields: object, message: string) => void lines.push(['info', fields, message]),
    warn: (fields: object, message: string) => void lines.push(['warn', fields, message]),
  };
  const readiness = createReadiness([check('redis'), check('idp')], { cacheMs: 0, log });
  const probe = async (times: number) => {
    for (let i = 0; i < times; i++) await readiness.check();
  };
  await probe(3);
  failing = ['redis'];
  await probe(5);
  failing = ['redis', 'idp'];
  await probe(5);
  failing = [];
  await probe(5);
  assert.deepEqual(lines, [
    ['info', { checks: ['redis', 'idp'] }, 'ready: every readiness check passes'],
    ['warn', { checks: [{ name: 'redis', detail: 'redis unavailable' }] }, 'not ready: redis (redis unavailable)'],
    [
      'warn',
      {
        checks: [
          { name: 'redis', detail: 'redis unavailable' },
          { name: 'idp', detail: 'idp unavailable' },
        ],
      },
      'not ready: redis (redis unavailable), idp (idp unavailable)',
    ],
    ['info', { checks: ['redis', 'idp'] }, 'ready: every readiness check passes'],
  ]);
});

test('with a prefix and a host filter, route hosts keep their own /healthz', async (t) => {
  const readiness = createReadiness([]);
  const probes = anyProbe(
    createProbeResponder(readiness, { service: 'proxy', prefix: '/.vallum' }),
    createProbeResponder(readiness, { service: 'authenticate', accept: (req) => req.headers.host === 'authenticate.localhost' }),
  );
  const { url, server } = await serve(probes);
  t.after(() => server.close());
  assert.equal(await (await fetch(`${url}/healthz`)).text(), 'app', "a route host's /healthz is the app's");
  assert.equal((await fetch(`${url}/.vallum/readyz`)).status, 200);
  const port = new URL(url).port;
  const onAuthenticate = await new Promise<number>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/readyz', headers: { host: 'authenticate.localhost' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
  assert.equal(onAuthenticate, 200);
});
