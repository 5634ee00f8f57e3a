import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExposition, sampleValue } from '@vallum/testing';
import { methodLabel, routeRequestRecorder, statusClass } from './metric-labels.js';
import { aggregateMetrics, createMetrics, metricNames } from './metrics.js';

test('a scrape parses, with the service label on every series and prom-client default metrics in this registry only', async () => {
  const metrics = createMetrics({ service: 'proxy' });
  metrics.signIns.inc({ result: 'success' });
  const { contentType, body } = await metrics.scrape();
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  const parsed = parseExposition(body);
  assert.equal(sampleValue(parsed, 'vallum_sign_ins_total', { result: 'success', service: 'proxy' }), 1);
  assert.equal(parsed.types.get('process_cpu_user_seconds_total'), 'counter');
  assert.equal(parsed.types.get('nodejs_eventloop_lag_p99_seconds'), 'gauge');
  assert.ok(parsed.samples.every((s) => s.labels.service === 'proxy'));
  // Two registries do not share state: each process (and each test) has its own.
  const other = createMetrics({ service: 'cache', defaultMetrics: false });
  assert.equal(sampleValue(parseExposition((await other.scrape()).body), 'vallum_sign_ins_total'), 0);
});

test('the request histogram counts into cumulative buckets, _sum and _count, one child per route, method and status class', async () => {
  const metrics = createMetrics({ service: 'all', defaultMetrics: false });
  const recorder = routeRequestRecorder(metrics, 'app');
  recorder.observe('GET', 200, 0.004);
  recorder.observe('GET', 204, 0.2);
  recorder.observe('BREW', 503, 50);
  const parsed = parseExposition((await metrics.scrape()).body);
  assert.equal(parsed.types.get('vallum_http_request_duration_seconds'), 'histogram');
  const get2xx = { route: 'app', method: 'GET', status_class: '2xx' };
  assert.equal(sampleValue(parsed, 'vallum_http_request_duration_seconds_count', get2xx), 2);
  assert.ok(Math.abs(sampleValue(parsed, 'vallum_http_request_duration_seconds_sum', get2xx) - 0.204) < 1e-9);
  assert.equal(sampleValue(parsed, 'vallum_http_request_duration_seconds_bucket', { ...get2xx, le: '0.005' }), 1);
  assert.equal(sampleValue(parsed, 'vallum_http_request_duration_seconds_bucket', { ...get2xx, le: '0.25' }), 2);
  assert.equal(sampleValue(parsed, 'vallum_http_request_duration_seconds_bucket', { ...get2xx, le: '+Inf' }), 2);
  // Past the last bucket: only +Inf, _sum and _count see it. A made-up method is OTHER, never a new series.
  const other = { route: 'app', method: 'OTHER', status_class: '5xx' };
  assert.equal(sampleValue(parsed, 'vallum_http_request_duration_seconds_bucket', { ...other, le: '30' }), 0);
  assert.equal(sampleValue(parsed, 'vallum_http_request_duration_seconds_bucket', { ...other, le: '+Inf' }), 1);
});

test('a child is made once per label set and kept: counting on it allocates no new series', async () => {
  const metrics = createMetrics({ service: 'all', defaultMetrics: false });
  const a = metrics.decisions.child({ result: 'deny', reason: 'email-unauthorized' });
  assert.equal(metrics.decisions.child({ result: 'deny', reason: 'email-unauthorized' }), a);
  a.inc();
  a.inc(2);
  const parsed = parseExposition((await metrics.scrape()).body);
  assert.equal(sampleValue(parsed, 'vallum_authorize_decisions_total', { result: 'deny', reason: 'email-unauthorized' }), 3);
  assert.equal(parsed.samples.filter((s) => s.name === 'vallum_authorize_decisions_total').length, 1);
  // A reset zeroes the child its holder keeps, so counting on it goes on being exported.
  metrics.registry.resetMetrics();
  a.inc();
  assert.equal(sampleValue(parseExposition((await metrics.scrape()).body), 'vallum_authorize_decisions_total', { result: 'deny' }), 1);
});

test('upstream health comes from the sources registered at scrape time, and leaves with them', async () => {
  const metrics = createMetrics({ service: 'proxy', defaultMetrics: false });
  let healthy = 1;
  const stop = metrics.watchUpstreamHealth((set) => set({ route: 'app', upstream: 'http://10.0.0.1:80' }, healthy));
  const scrape = async () => sampleValue(parseExposition((await metrics.scrape()).body), 'vallum_upstream_healthy', { route: 'app' });
  assert.equal(await scrape(), 1);
  healthy = 0;
  assert.equal(await scrape(), 0);
  stop();
  assert.doesNotMatch((await metrics.scrape()).body, /vallum_upstream_healthy\{/);
});

test('labels stay bounded: methods and status classes', () => {
  assert.equal(methodLabel('GET'), 'GET');
  assert.equal(methodLabel('get'), 'OTHER');
  assert.equal(methodLabel(undefined), 'OTHER');
  assert.equal(statusClass(404), '4xx');
  assert.equal(statusClass(999), 'other');
});

test('every vallum_ metric follows the naming conventions: counters end in _total, histograms in a unit', async () => {
  const metrics = createMetrics({ service: 'all', defaultMetrics: false });
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    assert.match(m.name, /^vallum_[a-z_]+$/);
    if (String(m.type) === 'counter') assert.match(m.name, /_total$/, m.name);
    if (String(m.type) === 'histogram') assert.match(m.name, /_seconds$/, m.name);
  }
  assert.ok((await metricNames(metrics)).has('vallum_http_request_duration_seconds_bucket'));
});

test("aggregateMetrics sums the workers' counters and histograms into one exposition (vallum --workers)", async () => {
  const workers = [createMetrics({ service: 'all' }), createMetrics({ service: 'all' })];
  routeRequestRecorder(workers[0]!, 'app').observe('GET', 200, 0.004);
  routeRequestRecorder(workers[1]!, 'app').observe('GET', 200, 0.2);
  routeRequestRecorder(workers[1]!, 'app').observe('GET', 200, 0.3);
  workers[0]!.signIns.inc({ result: 'success' });
  workers[1]!.signIns.inc({ result: 'success' });
  const { contentType, body } = await aggregateMetrics(await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON())));
  assert.match(contentType, /^text\/plain/);
  const parsed = parseExposition(body);
  const get2xx = { route: 'app', method: 'GET', status_class: '2xx', service: 'all' };
  assert.equal(sampleValue(parsed, 'vallum_http_request_duration_seconds_count', get2xx), 3);
  assert.equal(sampleValue(parsed, 'vallum_http_request_duration_seconds_bucket', { ...get2xx, le: '0.005' }), 1);
  assert.equal(sampleValue(parsed, 'vallum_sign_ins_total', { result: 'success' }), 2);
  assert.equal(parsed.types.get('process_cpu_user_seconds_total'), 'counter');
});
