// Outages end when the outage ends: an upstream that was down is served again as soon as it is back (passive ejection
// used to last a fixed 30 s, so a route answered 503 for ~26 s after its app returned), panic mode tries ejected
// endpoints rather than answering 503 without trying, and the outage leaves a few log lines, not one (with a stack
// trace) per request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { getFreePort } from '@vallum/testing';
import { spawnService, stopChild } from './harness.js';
import { publicRoute, startProxy } from './proxy-fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node:http upstream on a fixed loopback port that can be taken down and brought back on the same port. */
async function restartableUpstream(name: string) {
  const port = await getFreePort();
  const seen: string[] = [];
  let server: Server | undefined;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    seen.push(String(req.headers['user-agent']));
    res.end(name);
  };
  // The port was free when picked; another test file may bind it while this upstream is down, so a few tries.
  const up = async () => {
    for (let attempt = 1; ; attempt++) {
      const s = createServer(handler);
      try {
        s.listen(port, '127.0.0.1');
        await once(s, 'listening');
        server = s;
        return;
      } catch (err) {
        if (attempt >= 20 || (err as { code?: string }).code !== 'EADDRINUSE') throw err;
        await sleep(100);
      }
    }
  };
  const down = async () => {
    const s = server!;
    server = undefined;
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  };
  return { port, url: `http://127.0.0.1:${port}`, seen, up, down };
}

test('regression: an upstream back after a 5 s outage is served again within 2 s, and the outage leaves fewer than 20 log lines', async (t) => {
  const app = await restartableUpstream('app');
  await app.up();
  t.after(() => app.down().catch(() => {}));
  const port = await getFreePort();
  const dir = mkdtempSync(join(tmpdir(), 'vallum-outage-'));
  const file = join(dir, 'vallum.yaml');
  writeFileSync(
    file,
    `authenticate_service_url: http://authenticate.localhost:${port}
idp:
  issuer: http://127.0.0.1:${await getFreePort()}
  client_id: vallum
  client_secret: secret
  allow_insecure_http: true
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
routes:
${publicRoute('app.localhost', port, app.url)}`,
  );
  let output = '';
  // The proxy's own process and its own log stream, at the level operators run it with outside debugging: warn.
  const vallum = await spawnService(file, 'all', { VALLUM_ADDRESS: `127.0.0.1:${port}`, VALLUM_LOG_LEVEL: 'warn' }, port, (text) => (output += text));
  t.after(() => stopChild(vallum));
  const agent = new Agent({ connections: 4 });
  t.after(() => agent.close());
  const call = async () => {
    try {
      const res = await request(`http://127.0.0.1:${port}/`, {
        dispatcher: agent,
        headers: { host: `app.localhost:${port}` },
        signal: AbortSignal.timeout(5000),
      });
      const body = await res.body.text();
      return res.statusCode === 200 && body === 'app';
    } catch {
      return false;
    }
  };
  assert.equal(await call(), true, 'served before the outage');

  const logStart = output.length;
  await app.down();
  // Four clients in a loop, as an app's users would keep trying; bounded by the outage and its end.
  let outageRequests = 0;
  let stop = false;
  let backAt = 0;
  let servedAgainAt = 0;
  const client = async () => {
    while (!stop) {
      const ok = await call();
      if (!backAt) outageRequests++;
      else if (ok && !servedAgainAt) servedAgainAt = Date.now();
      if (!backAt && ok) assert.fail('served while the upstream was down');
      await sleep(2);
    }
  };
  const clients = Array.from({ length: 4 }, client);
  await sleep(5000);
  await app.up();
  backAt = Date.now();
  const giveUp = backAt + 10_000;
  while (!servedAgainAt && Date.now() < giveUp) await sleep(20);
  stop = true;
  await Promise.all(clients);
  assert.ok(servedAgainAt > 0, 'served again at all');
  const lag = servedAgainAt - backAt;
  assert.ok(lag < 2000, `served again ${lag} ms after the upstream was back`);
  for (let i = 0; i < 10; i++) assert.equal(await call(), true, 'every request succeeds once it is back');
  // The repeats are counted in the summary line written at the end of the 10 s interval that began with the outage.
  const summaryBy = Date.now() + 12_000;
  while (!/repeated [\d,]+ times in \d+ s/.test(output.slice(logStart)) && Date.now() < summaryBy) await sleep(100);

  const lines = output
    .slice(logStart)
    .split('\n')
    .filter((l) => l.trim() !== '');
  t.diagnostic(`${outageRequests} requests in the outage, served again ${lag} ms after the upstream was back, ${lines.length} log lines`);
  assert.ok(outageRequests > 100, `the outage saw a real load (${outageRequests} requests)`);
  assert.ok(lines.length >= 1, 'the outage is logged');
  assert.ok(lines.length < 20, `${lines.length} log lines for ${outageRequests} failed requests:\n${lines.slice(0, 30).join('\n')}`);
  assert.ok(
    lines.every((l) => !l.includes('"stack"')),
    'connection refused is logged without a stack trace',
  );
  assert.match(lines[0]!, /upstream of route '[^']+' failed/);
  assert.match(lines[0]!, /"cause":"ECONNREFUSED"/);
  assert.ok(
    lines.some((l) => /upstream of route '[^']+' failed \(repeated [\d,]+ times in \d+ s\)/.test(l)),
    'a summary line counts the repeats',
  );
});

test('panic mode: with every endpoint ejected, the next request reaches one that is back without waiting for a probe', async (t) => {
  const a = await restartableUpstream('a');
  const b = await restartableUpstream('b');
  // Probes at 250 ms, 750 ms, 1.75 s, then 3.75 s after ejection: the request below comes between the last two.
  const proxy = await startProxy((port) =>
    publicRoute('pool.localhost', port, [a.url, b.url], 'outlier_detection: { consecutive_errors: 1, ejection_time: 10s }'),
  );
  t.after(() => proxy.close());
  t.after(() => b.down().catch(() => {}));
  // Both down: one request fails on each endpoint (the retry goes to the other) and ejects both.
  const call = async () => {
    const res = await proxy.call('pool.localhost', '/', { headers: { accept: 'application/json' } });
    const body = await res.body.text();
    return { status: res.statusCode, body: res.statusCode === 200 ? body : (JSON.parse(body) as { code: string }).code };
  };
  assert.deepEqual(await call(), { status: 502, body: 'VALLUM_UPSTREAM_UNAVAILABLE' });
  await sleep(1900);
  // Still down and ejected: tried anyway (a refused connection is 502), not refused untried with 503.
  assert.deepEqual(await call(), { status: 502, body: 'VALLUM_UPSTREAM_UNAVAILABLE' });
  await b.up();
  assert.deepEqual(await call(), { status: 200, body: 'b' });
  assert.equal(b.seen.length, 1, 'the request reached it before any probe');
  assert.notEqual(b.seen[0], 'vallum-health-check');
});
