#!/usr/bin/env node
// What metrics add to one proxied request, measured in-process (issue 12): the counting Vallum does per request
// (the route's request histogram on the response's 'close', which the response already has a listener for, the
// upstream's latency histogram, one decision counter), against the same counts
// through prom-client's own `labels(...)` children, and against doing nothing. Prints ns per request and the
// ratio to a proxied request's CPU time (--request-us, default 200 µs: bench/README.md's authenticated 1 KiB figure).
import { EventEmitter } from 'node:events';
import { Counter, Histogram, Registry } from 'prom-client';
import { routeRequestRecorder } from '@vallum/telemetry';
import { createMetrics } from '@vallum/telemetry/metrics';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(' ')
    .split('--')
    .filter(Boolean)
    .map((a) => a.trim().split(/\s+/)),
);
const N = Number(args.iterations ?? 2_000_000);
const REQUEST_US = Number(args['request-us'] ?? 200);

const metrics = createMetrics({ service: 'proxy', defaultMetrics: false });
const route = routeRequestRecorder(metrics, 'app');
const upstream = metrics.upstreamRequests.child({ upstream: 'http://127.0.0.1:8080' });
const decision = metrics.decisions.child({ result: 'allow', reason: 'groups-ok' });
const byId = new Map([['app', { requests: route }]]);

const registry = new Registry();
const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['route', 'method', 'status_class'], registers: [registry] });
const u = new Histogram({ name: 'u_seconds', help: 'u', labelNames: ['upstream'], registers: [registry] });
const c = new Counter({ name: 'c_total', help: 'c', labelNames: ['result', 'reason'], registers: [registry] });
const hChild = h.labels('app', 'GET', '2xx');
const uChild = u.labels('http://127.0.0.1:8080');
const cChild = c.labels('allow', 'groups-ok');

const noop = () => {};
/** A response with the 'close' listener the upstream exchange adds anyway. */
const response = () => {
  const res = new EventEmitter();
  res.on('close', noop);
  res.statusCode = 200;
  return res;
};
const variants = {
  none: (i) => {
    const res = response();
    res.emit('close');
    return i;
  },
  vallum: (i) => {
    const res = response();
    const counted = byId.get('app');
    const started = performance.now();
    res.on('close', () => counted.requests.observe('GET', res.statusCode, (performance.now() - started) / 1000));
    const sent = performance.now();
    upstream.observe((performance.now() - sent) / 1000 + (i & 7) * 0.001);
    decision.inc();
    res.emit('close');
    return i;
  },
  'prom-client children': (i) => {
    const res = response();
    const started = performance.now();
    res.on('close', () => hChild.observe((performance.now() - started) / 1000));
    const sent = performance.now();
    uChild.observe((performance.now() - sent) / 1000 + (i & 7) * 0.001);
    cChild.inc();
    res.emit('close');
    return i;
  },
};

const run = (fn) => {
  let sink = 0;
  // CPU time, not wall time: on a shared machine the wall clock also counts the time other processes ran.
  const t = process.cpuUsage();
  for (let i = 0; i < N; i++) sink += fn(i);
  const used = process.cpuUsage(t);
  return { ns: ((used.user + used.system) * 1000) / N, sink };
};
for (const fn of Object.values(variants)) run(fn); // warm up
const rounds = 5;
const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) for (const [name, fn] of Object.entries(variants)) results[name].push(run(fn).ns);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(results.none);
console.log(`${N} iterations × ${rounds} rounds, CPU time, medians; a proxied request taken as ${REQUEST_US} µs of CPU`);
console.log('| counting per request | CPU ns | ns over nothing | share of a request |');
console.log('|---|---:|---:|---:|');
for (const name of Object.keys(variants)) {
  const ns = median(results[name]);
  console.log(`| ${name} | ${ns.toFixed(1)} | ${(ns - base).toFixed(1)} | ${(((ns - base) / (REQUEST_US * 1000)) * 100).toFixed(3)} % |`);
}
