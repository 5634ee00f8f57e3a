import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '@vallum/telemetry/metrics';
import { startMetricsListener } from './metrics-listener.js';

test('the metrics listener serves GET /metrics, 404 elsewhere, 405 for other methods, and lets probes answer first', async () => {
  const metrics = createMetrics({ service: 'proxy', defaultMetrics: false });
  metrics.signOuts.inc({ kind: 'user' });
  const listener = await startMetricsListener('127.0.0.1:0', metrics, {
    probes: (req, res) => {
      if (req.url !== '/readyz') return false;
      res.end('ready\n');
      return true;
    },
  });
  try {
    const scraped = await fetch(`${listener.url}/metrics?x=1`);
    assert.equal(scraped.status, 200);
    assert.match(scraped.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await scraped.text(), /^vallum_sign_outs_total\{kind="user",service="proxy"\} 1$/m);
    assert.equal((await fetch(`${listener.url}/metrics`, { method: 'HEAD' })).status, 200);
    const post = await fetch(`${listener.url}/metrics`, { method: 'POST' });
    assert.deepEqual([post.status, post.headers.get('allow')], [405, 'GET, HEAD']);
    assert.equal((await fetch(`${listener.url}/`)).status, 404);
    assert.equal(await (await fetch(`${listener.url}/readyz`)).text(), 'ready\n');
  } finally {
    await listener.close();
  }
});

test('a metrics_address start cannot listen on is refused with the setting named', async () => {
  const metrics = createMetrics({ service: 'all', defaultMetrics: false });
  await assert.rejects(startMetricsListener('localhost', metrics), /^Error: metrics_address: expected host:port/);
  const first = await startMetricsListener('127.0.0.1:0', metrics);
  try {
    await assert.rejects(startMetricsListener(first.url.replace('http://', ''), metrics), /EADDRINUSE/);
  } finally {
    await first.close();
  }
});
