import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
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

test('the responder answers /healthz and /readyz (200, then 503 with the report) and leaves every other request alone', async (t) => {
  let up = true;
  const readiness = createReadiness(
    [
      {
        name: 'redis',
        check: async () => {
          if (!up) throw new Error('session store unavailable');
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
  assert.equal(((await ready.json()) as { status: string }).status, 'ready');
  up = false;
  const notReady = await fetch(`${url}/readyz`);
  assert.equal(notReady.status, 503);
  assert.deepEqual(await notReady.json(), {
    status: 'not ready',
    service: 'cache',
    ready: false,
    draining: false,
    checks: [{ name: 'redis', ok: false, detail: 'session store unavailable' }],
  });
  for (const path of ['/healthzz', '/readyz/x', '/', '/v1/healthz']) assert.equal(await (await fetch(url + path)).text(), 'app', path);
  assert.equal(await (await fetch(`${url}/healthz`, { method: 'POST' })).text(), 'app', 'only GET and HEAD are probes');
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
