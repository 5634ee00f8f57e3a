#!/usr/bin/env node
// Per-request cost of logs and traces on the proxy's hot path, in µs per request, against what the proxy wrote
// before (fastify-shaped `request completed` plus the authorizer's `authorize decision`: two lines per request),
// measured in the same run and written through the same pino options to /dev/null with synchronous writes (as to
// stdout). Run: npx tsc -b && node bench/access-log.mjs (figures in bench/README.md)
import { pino } from 'pino';
import { createAccessLogger, createTraceStarter, loggerOptions } from '../packages/telemetry/dist/index.js';
import { AccessRecord, createAccessLog } from '../services/proxy/dist/access-log.js';

const N = 100_000;
const sink = () => pino.destination({ dest: '/dev/null', sync: true });
const log = pino(loggerOptions({ service: 'proxy', level: 'info' }), sink());
const quiet = pino(loggerOptions({ service: 'proxy', level: 'warn' }), sink());
// What the proxy writes access lines with (createAccessLogger), and the same line through the redacting logger.
const access = createAccessLogger({ service: 'proxy', level: 'info' }, sink());
const traces = createTraceStarter({ sampleRatio: 0 });

const socket = { bytesWritten: 0, remoteAddress: '127.0.0.1', remotePort: 50000 };
const headers = { host: 'app.localhost:8000', cookie: '_vallum=abc', 'user-agent': 'wrk', accept: '*/*' };
const req = { method: 'GET', url: '/1k?x=1', headers, socket };
/** A response as the shared 'close' listener sees it; `on` keeps the listener to call it. */
const response = () => {
  const res = { statusCode: 200, headersSent: true, writableFinished: true, listener: undefined };
  res.on = (_event, fn) => {
    res.listener = fn;
  };
  return res;
};
const forward = { kind: 'forward', email: 'alice@example.com', user: 'alice' };

/** What the proxy does per request for logs and traces, writing to `logger`: the response closes at once. */
function proxiedRequest(logger) {
  const watch = createAccessLog({ log: logger });
  return () => {
    const record = new AccessRecord(req, 'rid', traces.start(headers, false));
    record.route = 'app';
    const res = response();
    watch(record, res);
    record.decided(forward);
    res.listener?.call(res);
  };
}

const cases = {
  'before: request completed + authorize decision (info)': () => {
    const started = performance.now();
    const line = {
      reqId: 'rid',
      req: { method: req.method, url: req.url, host: headers.host, ip: socket.remoteAddress, socket: { remotePort: socket.remotePort } },
    };
    log.info({ route: 'app', user: 'alice@example.com', decision: 'allow', reasons: ['groups-ok'], request_id: 'rid' }, 'authorize decision');
    log.info({ ...line, res: { statusCode: 200 }, responseTime: performance.now() - started }, 'request completed');
  },
  'now: trace + access record + one access line (info)': proxiedRequest(access),
  'the same through the field-redacting logger': proxiedRequest(log),
  'now: trace + access record, nothing logged (warn)': proxiedRequest(quiet),
  'trace start alone': () => traces.start(headers, false),
};

// Rounds interleave the cases, so a busy machine slows each alike; the least time of each is kept.
const results = {};
for (const run of Object.values(cases)) for (let i = 0; i < N / 4; i++) run(); // warm up the JIT
for (let round = 0; round < 5; round++) {
  for (const [name, run] of Object.entries(cases)) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) run();
    const us = Number(process.hrtime.bigint() - t) / 1000 / N;
    results[name] = Math.min(results[name] ?? Infinity, us);
  }
}
const base = results['before: request completed + authorize decision (info)'];
console.log('| per request | µs | × before |\n|---|---:|---:|');
for (const [name, us] of Object.entries(results)) console.log(`| ${name} | ${us.toFixed(2)} | ${(us / base).toFixed(2)} |`);
