// Logs and traces of the real `vallum` process (issue 12, points 2, 4 and 9): one access line per request holding
// the trace the upstream saw, a trusted peer's traceparent continued and an untrusted one replaced, OAuth codes and
// hand-off tokens never in a logged URL, a client that goes away logged once at debug as a client abort, the pretty
// format, and the OTLP exporter against a receiver on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { getFreePort } from '@vallum/testing';
import { VALLUM_BIN, spawnService, startStack, stopChild } from './harness.js';
import { publicRoute, startUpstream, writeProxyConfig, type TestUpstream } from './proxy-fixture.js';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRUSTED_PEER = '127.0.0.1';
const UNTRUSTED_PEER = '127.0.0.2';

interface LogLine {
  level: number;
  msg: string;
  request_id?: string;
  trace_id?: string;
  route?: string;
  url?: string;
  status?: number;
  bytes?: number;
  duration_ms?: number;
  decision?: string;
  aborted?: boolean;
  code?: string;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: number | string; boolValue?: boolean } }>;
}

let upstream: TestUpstream;
/** traceparent (and tracestate) each upstream request carried, by the request id Vallum sent. */
const seen = new Map<string, { traceparent?: string; tracestate?: string }>();
let receiver: Server;
const spans: OtlpSpan[] = [];
let port: number;
let child: ChildProcess;
let out = '';

const configFile = (port: number, top: string) =>
  writeProxyConfig(port, `trusted_proxies: [${TRUSTED_PEER}/32]\n${top}`, publicRoute('app.localhost', port, upstream.url, 'name: app'));

before(async () => {
  upstream = await startUpstream((req, res) => {
    seen.set(String(req.headers['x-request-id']), { traceparent: req.headers.traceparent as string, tracestate: req.headers.tracestate as string });
    if (req.url === '/never') return; // answers nothing: the client gives up first
    res.setHeader('content-type', 'text/plain');
    res.end(Buffer.alloc(1024, 'a'));
  });
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces' && String(req.headers['content-type']).includes('json')) {
        const doc = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
        for (const r of doc.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = await getFreePort();
  const otlp = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  child = await spawnService(configFile(port, `log_level: debug\ntracing: { otlp_endpoint: "${otlp}", sample_ratio: 1 }`), 'all', {}, port, (t) => {
    out += t;
  });
});

after(async () => {
  await stopChild(child);
  await upstream.close();
  await new Promise((resolve) => receiver.close(resolve));
});

function get(
  path: string,
  options: { port?: number; host?: string; from?: string; headers?: Record<string, string>; abortAfterMs?: number } = {},
): Promise<{ status: number; headers: Record<string, unknown> }> {
  const target = options.port ?? port;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: target,
        path,
        localAddress: options.from ?? TRUSTED_PEER,
        agent: false,
        headers: { host: `${options.host ?? 'app.localhost'}:${target}`, ...options.headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
    if (options.abortAfterMs !== undefined)
      setTimeout(() => {
        req.destroy();
        resolve({ status: 0, headers: {} });
      }, options.abortAfterMs);
  });
}

const parsed = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

/** The lines logged for one request id, once its access line is there (bounded wait). */
async function linesOf(requestId: string, text = () => out): Promise<LogLine[]> {
  const of = () => parsed(text()).filter((l) => l.request_id === requestId);
  for (let i = 0; i < 50 && !of().some((l) => l.msg === 'request'); i++) await new Promise((r) => setTimeout(r, 100));
  return of();
}

test("a trusted peer's traceparent is continued: its trace id reaches the upstream and the access line, with Vallum as the parent", async () => {
  const res = await get('/hello', {
    headers: { 'x-request-id': 'trusted-1', traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, tracestate: 'vendor=abc' },
  });
  assert.equal(res.status, 200);
  const sent = seen.get('trusted-1')!;
  const [, traceId, parentId, flags] = sent.traceparent!.split('-');
  assert.equal(traceId, CALLER_TRACE);
  assert.notEqual(parentId, CALLER_SPAN, 'Vallum is a hop: the upstream sees its span as the parent');
  assert.equal(flags, '01');
  assert.equal(sent.tracestate, 'vendor=abc');
  const lines = await linesOf('trusted-1');
  const access = lines.filter((l) => l.msg === 'request');
  assert.equal(access.length, 1, out);
  assert.equal(access[0]!.trace_id, CALLER_TRACE);
  assert.equal(access[0]!.route, 'app');
  assert.equal(access[0]!.status, 200);
  assert.equal(access[0]!.decision, 'public');
  assert.ok(access[0]!.bytes! >= 1024, `bytes ${access[0]!.bytes}`);
  assert.equal(typeof access[0]!.duration_ms, 'number');
});

test("an untrusted peer's traceparent is replaced by a new trace, which the upstream and the access line share", async () => {
  await get('/hello', {
    from: UNTRUSTED_PEER,
    headers: { 'x-request-id': 'untrusted-1', traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, tracestate: 'vendor=abc' },
  });
  const sent = seen.get('untrusted-1')!;
  const traceId = sent.traceparent!.split('-')[1];
  assert.match(traceId!, /^[0-9a-f]{32}$/);
  assert.notEqual(traceId, CALLER_TRACE);
  assert.equal(sent.tracestate, undefined);
  const access = (await linesOf('untrusted-1')).filter((l) => l.msg === 'request');
  assert.equal(access[0]!.trace_id, traceId);
});

test('each request gets exactly one info line, and every line of it carries its trace id', async () => {
  for (let i = 0; i < 3; i++) await get(`/n/${i}`, { headers: { 'x-request-id': `one-${i}` } });
  // An app of Vallum's own (authenticate) too: fastify's two lines per request are replaced by the one.
  await get('/.vallum/sign_in?redirect_uri=http://app.localhost/', { host: 'authenticate.localhost', headers: { 'x-request-id': 'one-auth' } });
  // A request no route takes is refused, and logged the same way.
  assert.equal((await get('/', { host: 'nowhere.localhost', headers: { 'x-request-id': 'one-404' } })).status, 404);
  for (const id of ['one-0', 'one-1', 'one-2', 'one-auth', 'one-404']) {
    const lines = await linesOf(id);
    const info = lines.filter((l) => l.level === 30);
    assert.deepEqual(
      info.map((l) => l.msg),
      ['request'],
      `${id}: ${JSON.stringify(lines)}`,
    );
    assert.ok(
      lines.every((l) => typeof l.trace_id === 'string' && l.trace_id.length === 32),
      `${id}: ${JSON.stringify(lines)}`,
    );
  }
  assert.doesNotMatch(out, /"incoming request"|"request completed"/);
});

test('OAuth codes and hand-off tokens never appear in a logged URL', async () => {
  await get('/.vallum/callback?vallum_handoff=HANDOFF-SECRET-1&state=STATE-SECRET-2', { headers: { 'x-request-id': 'secret-1' } });
  await get('/app/cb?code=CODE-SECRET-3&x=1', { headers: { 'x-request-id': 'secret-2' } });
  await get('/oauth2/callback?code=CODE-SECRET-4&state=STATE-SECRET-5', { host: 'authenticate.localhost', headers: { 'x-request-id': 'secret-3' } });
  for (const id of ['secret-1', 'secret-2', 'secret-3'])
    assert.ok(
      (await linesOf(id)).some((l) => l.msg === 'request'),
      id,
    );
  assert.doesNotMatch(out, /SECRET-\d/);
  const urls = parsed(out)
    .filter((l) => l.request_id?.startsWith('secret-') && l.msg === 'request')
    .map((l) => l.url);
  assert.ok(urls.includes('/app/cb?code=[redacted]&x=1'), JSON.stringify(urls));
  assert.doesNotMatch(out, /code=(?!\[redacted\])/);
});

test('a client that goes away is logged once, at debug, as a client abort, and never as an upstream failure', async () => {
  await get('/never', { headers: { 'x-request-id': 'gone-1' }, abortAfterMs: 300 });
  const lines = await linesOf('gone-1');
  const aborts = lines.filter((l) => l.code === 'VALLUM_CLIENT_ABORTED');
  assert.equal(aborts.length, 1, JSON.stringify(lines));
  assert.equal(aborts[0]!.level, 20);
  const access = lines.filter((l) => l.msg === 'request');
  assert.equal(access.length, 1);
  assert.equal(access[0]!.aborted, true);
  assert.equal(access[0]!.status, 499);
  // The upstream's connection is let go too; nothing is said of it.
  await new Promise((r) => setTimeout(r, 300));
  assert.doesNotMatch(out, /upstream failed|VALLUM_UPSTREAM_UNAVAILABLE|the client went away/);
  assert.deepEqual(
    parsed(out).filter((l) => l.level >= 40 && l.request_id !== undefined),
    [],
    'no warning or error for any request',
  );
});

test("the OTLP exporter sends the request's server span, with the trace id the upstream saw and the route and status", async () => {
  await get('/span', { headers: { 'x-request-id': 'span-1', traceparent: `00-${CALLER_TRACE.replace('4bf9', 'aaaa')}-${CALLER_SPAN}-01` } });
  // Not sampled by the trusted caller: not exported, whatever sample_ratio says.
  await get('/span', { headers: { 'x-request-id': 'span-2', traceparent: `00-${CALLER_TRACE.replace('4bf9', 'bbbb')}-${CALLER_SPAN}-00` } });
  const [, traceId, parentId] = seen.get('span-1')!.traceparent!.split('-');
  const unsampled = seen.get('span-2')!.traceparent!.split('-')[1];
  const find = () => spans.find((s) => s.traceId === traceId);
  // The batch processor sends every 5 s.
  for (let i = 0; i < 150 && !find(); i++) await new Promise((r) => setTimeout(r, 100));
  const span = find();
  assert.ok(span, `no span for ${traceId} among ${spans.length}`);
  assert.equal(span.spanId, parentId, 'the span is the parent the upstream saw');
  assert.equal(span.parentSpanId, CALLER_SPAN);
  const attr = (key: string) => {
    const v = span.attributes.find((a) => a.key === key)?.value;
    return v?.stringValue ?? (v?.intValue === undefined ? v?.boolValue : Number(v.intValue));
  };
  assert.equal(attr('http.response.status_code'), 200);
  assert.equal(attr('http.route'), 'app');
  assert.equal(attr('vallum.request_id'), 'span-1');
  assert.equal(
    spans.some((s) => s.traceId === unsampled),
    false,
  );
});

test('log_format pretty writes each entry as one readable line', async () => {
  const prettyPort = await getFreePort();
  let text = '';
  const pretty = await spawnService(configFile(prettyPort, 'log_level: info\nlog_format: pretty'), 'all', {}, prettyPort, (t) => {
    text += t;
  });
  try {
    await get('/pretty', { port: prettyPort, headers: { 'x-request-id': 'pretty-1' } });
    const traceId = seen.get('pretty-1')!.traceparent!.split('-')[1];
    let line: string | undefined;
    for (let i = 0; i < 50 && !line; i++) {
      line = text.split('\n').find((l) => l.includes('request_id=pretty-1'));
      if (!line) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(line, text);
    assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}proxy request /);
    assert.match(line, new RegExp(`trace_id=${traceId}`));
    assert.match(line, / status=200 /);
    assert.equal(text.split('\n').filter((l) => l.includes('pretty-1')).length, 1);
    assert.equal(text.split('\n').filter((l) => l.startsWith('{')).length, 0, text);
  } finally {
    await stopChild(pretty);
  }
});

test("split mode: the authorize service's line for the proxy's evaluate call carries the proxy's trace id", async () => {
  const stack = await startStack({ mode: 'split', redis: true, logLevel: 'info' });
  try {
    const created = await promisify(execFile)(process.execPath, [
      VALLUM_BIN,
      'service-account',
      'create',
      '--name',
      'tracer',
      '--expires',
      '1d',
      '--groups',
      'admins',
      '--config',
      stack.configFile,
    ]);
    const token = created.stdout.trim();
    await get('/traced', { port: stack.port, headers: { 'x-request-id': 'split-1', authorization: `Bearer ${token}` } });
    const lines = () => parsed(stack.logs()) as Array<LogLine & { service?: string; vallum_route?: string }>;
    const proxyLine = () => lines().find((l) => l.service === 'proxy' && l.request_id === 'split-1' && l.msg === 'request');
    for (let i = 0; i < 50 && !proxyLine(); i++) await new Promise((r) => setTimeout(r, 100));
    const traceId = proxyLine()?.trace_id;
    assert.match(String(traceId), /^[0-9a-f]{32}$/, stack.logs().slice(-2000));
    const evaluated = lines().filter((l) => l.service === 'authorize' && l.msg === 'request' && l.url === '/v1/evaluate' && l.trace_id === traceId);
    assert.equal(
      evaluated.length,
      1,
      lines()
        .filter((l) => l.service === 'authorize')
        .map((l) => JSON.stringify(l))
        .join('\n'),
    );
    assert.equal(evaluated[0]!.vallum_route !== undefined, true);
    assert.equal(typeof evaluated[0]!.decision, 'string');
  } finally {
    await stack.close();
  }
});
