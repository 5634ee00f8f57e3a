// Streaming (FlushInterval and beyond): events reach the client as the upstream writes them, 100-continue,
// trailers, bodiless responses, a client that leaves aborts the upstream, an upstream that dies mid-body cuts the
// client's response, and 1 GiB each way passes through a proxy process whose RSS stays under 100 MB throughout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ChildProcess } from 'node:child_process';
import { getFreePort } from '@vallum/testing';
import { spawnService, stopChild } from './harness.js';
import { publicRoute, startProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-fixture.js';

let proxy: TestProxy;
let upstream: TestUpstream;
let releaseSecondEvent: () => void = () => {};
let upstreamSawClose: () => void = () => {};
const GiB = 1024 ** 3;
const CHUNK = Buffer.alloc(64 * 1024, 'v');

before(async () => {
  upstream = await startUpstream((req, res) => {
    switch (req.url) {
      case '/events': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: one\n\n');
        new Promise<void>((r) => (releaseSecondEvent = r)).then(() => res.end('data: two\n\n'));
        return;
      }
      case '/upload': {
        let n = 0;
        req.on('data', (d: Buffer) => (n += d.length));
        req.on('end', () => res.end(String(n)));
        return;
      }
      case '/download': {
        res.writeHead(200, { 'content-length': String(GiB) });
        let sent = 0;
        const pump = () => {
          while (sent < GiB) {
            sent += CHUNK.length;
            if (!res.write(CHUNK)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      case '/echo-trailers': {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-echo' });
          res.write(`${req.headers['transfer-encoding']}:${req.headers.trailer}:${body}`);
          res.addTrailers({ 'x-echo': req.trailers['x-checksum'] ?? 'none' });
          res.end();
        });
        return;
      }
      case '/trailers':
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
        res.write('body');
        res.addTrailers({ 'x-checksum': 'abc' });
        res.end();
        return;
      case '/no-content':
        res.writeHead(204, { 'x-kind': 'empty' });
        res.end();
        return;
      case '/not-modified':
        res.writeHead(304, { etag: '"v1"' });
        res.end();
        return;
      case '/head':
        res.writeHead(200, { 'content-length': '1234', 'content-type': 'text/plain' });
        res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1234));
        return;
      case '/hang':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first');
        req.socket.once('close', () => upstreamSawClose());
        return;
      case '/die':
        res.writeHead(200, { 'content-length': '1000000' });
        res.write('partial');
        setTimeout(() => req.socket.destroy(), 50);
        return;
      default:
        res.end('?');
    }
  });
  proxy = await startProxy((port) => publicRoute('s.localhost', port, upstream.url));
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
});

function raw(path: string, init: { method?: string; headers?: Record<string, string>; port?: number; host?: string } = {}) {
  const port = init.port ?? proxy.port;
  return httpRequest({
    host: '127.0.0.1',
    port,
    path,
    method: init.method ?? 'GET',
    headers: { host: `${init.host ?? 's.localhost'}:${port}`, ...init.headers },
    agent: false,
  });
}

const responseOf = (req: ReturnType<typeof raw>) =>
  new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });

const readAll = (res: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (text += d));
    res.on('end', () => resolve(text));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('aborted')));
  });

const within = <T>(ms: number, p: Promise<T>, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms).unref())]);

test('server-sent events reach the client as the upstream writes them', async () => {
  const req = raw('/events');
  req.end();
  const res = await within(3000, responseOf(req), 'headers of an open event stream');
  assert.equal(res.headers['content-type'], 'text/event-stream');
  const first = await within(3000, new Promise<string>((r) => res.once('data', (d: Buffer) => r(d.toString()))), 'the first event');
  assert.equal(first, 'data: one\n\n');
  const rest = readAll(res);
  releaseSecondEvent();
  assert.equal(await within(3000, rest, 'the second event'), 'data: two\n\n');
});

test('Expect: 100-continue gets its 100 before the body is sent', async () => {
  const req = raw('/upload', { method: 'POST', headers: { expect: '100-continue', 'content-length': '5' } });
  const continued = new Promise<void>((r) => req.once('continue', () => r()));
  req.flushHeaders();
  await within(3000, continued, '100 Continue');
  req.end('hello');
  assert.equal(await readAll(await responseOf(req)), '5');
});

test('trailers pass through both ways; 204, 304 and HEAD come without a body', async () => {
  const t = raw('/trailers');
  t.end();
  const tr = await responseOf(t);
  assert.equal(await readAll(tr), 'body');
  assert.equal(tr.trailers['x-checksum'], 'abc');

  // A request announcing trailers gets them to the upstream, and its response's trailers back.
  const up = raw('/echo-trailers', { method: 'POST', headers: { 'transfer-encoding': 'chunked', trailer: 'x-checksum' } });
  up.write('part one, ');
  up.write('part two');
  up.addTrailers({ 'x-checksum': 'sum-42' });
  up.end();
  const echoed = await responseOf(up);
  assert.equal(await readAll(echoed), 'chunked:x-checksum:part one, part two');
  assert.equal(echoed.trailers['x-echo'], 'sum-42');

  for (const [path, status] of [
    ['/no-content', 204],
    ['/not-modified', 304],
  ] as const) {
    const res = await proxy.call('s.localhost', path);
    assert.equal(res.statusCode, status);
    assert.equal(await res.body.text(), '');
  }
  const head = await proxy.call('s.localhost', '/head', { method: 'HEAD' });
  assert.equal(head.headers['content-length'], '1234');
  assert.equal(await head.body.text(), '');
});

test('a client that goes away aborts the upstream request', async () => {
  const sawClose = new Promise<void>((r) => (upstreamSawClose = r));
  const req = raw('/hang');
  req.end();
  const res = await responseOf(req);
  await new Promise<void>((r) => res.once('data', () => r()));
  req.destroy();
  await within(3000, sawClose, 'the upstream connection closing');
});

test('an upstream that dies mid-body ends the client response with an error, not a hang', async () => {
  const req = raw('/die');
  req.end();
  const res = await responseOf(req);
  assert.equal(res.statusCode, 200);
  await assert.rejects(within(5000, readAll(res), 'the cut response'), /aborted|ECONNRESET|socket hang up/);
});

// The proxy as docker-compose runs it: `node cmd/vallum/bin/vallum.js --config FILE --service proxy`, on its own.
// VmHWM is the process's peak RSS since it started, so nothing between two samples is missed.
test('1 GiB down and 1 GiB up through a proxy process keep its RSS under 100 MB', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-stream-'));
  const file = join(dir, 'vallum.yaml');
  const port = await getFreePort();
  const dead = await getFreePort();
  writeFileSync(file, proxy.configText(publicRoute('s.localhost', port, upstream.url)));
  let child: ChildProcess | undefined;
  try {
    child = await spawnService(
      file,
      'proxy',
      {
        VALLUM_ADDRESS: `127.0.0.1:${port}`,
        VALLUM_AUTHORIZE_SERVICE_URL: `http://127.0.0.1:${dead}`,
        VALLUM_CACHE_SERVICE_URL: `http://127.0.0.1:${dead}`,
        VALLUM_LOG_LEVEL: 'warn',
      },
      port,
    );
    const mb = (field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${child!.pid}/status`, 'utf8'))?.[1]) / 1024;
    const idleMb = mb('VmRSS');
    const started = Date.now();
    const down = raw('/download', { port });
    down.end();
    let received = 0;
    await pipeline(await responseOf(down), new Writable({ write: (c: Buffer, _e, cb) => ((received += c.length), cb()) }));
    assert.equal(received, GiB);
    const afterDownMb = mb('VmHWM');

    const up = raw('/upload', { port, method: 'POST', headers: { 'content-length': String(GiB) } });
    let produced = 0;
    const source = new Readable({
      read() {
        produced += CHUNK.length;
        this.push(CHUNK);
        if (produced >= GiB) this.push(null);
      },
    });
    const answer = responseOf(up);
    await pipeline(source, up);
    assert.equal(await readAll(await answer), String(GiB));

    const peakMb = mb('VmHWM');
    const figures = `peak RSS ${peakMb.toFixed(1)} MB (${afterDownMb.toFixed(1)} MB after the download), idle ${idleMb.toFixed(1)} MB, 2 GiB in ${((Date.now() - started) / 1000).toFixed(1)} s`;
    assert.ok(idleMb > 0 && peakMb < 100, `the proxy process went over 100 MB: ${figures}`);
    t.diagnostic(`proxy process: ${figures}`);
  } finally {
    if (child) await stopChild(child);
  }
});
