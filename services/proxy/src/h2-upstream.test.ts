import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { H2Upstream } from './h2-upstream.js';

const NO_TLS = { skipVerify: false } as never;

async function listen(onStream: (stream: ServerHttp2Stream, headers: Record<string, unknown>) => void): Promise<{ server: Http2Server; url: URL }> {
  const server = createServer();
  server.on('stream', onStream);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) };
}

/** Dispatches one request; what the handler saw. */
function exchange(d: Dispatcher, opts: Partial<Dispatcher.DispatchOptions>, onConnect?: (abort: (err?: Error) => void) => void) {
  return new Promise<{ status?: number; headers?: string[]; body: string; trailers?: string[]; error?: Error & { code?: string } }>((resolve) => {
    const chunks: Buffer[] = [];
    let status: number | undefined;
    let headers: string[] | undefined;
    d.dispatch({ path: '/', method: 'GET', headers: [], body: null, ...opts } as Dispatcher.DispatchOptions, {
      onConnect: (abort) => onConnect?.(abort),
      onHeaders(s, raw) {
        status = s;
        headers = raw.map(String);
        return true;
      },
      onData(c) {
        chunks.push(c);
        return true;
      },
      onComplete: (t) => resolve({ status, headers, body: Buffer.concat(chunks).toString(), trailers: (t ?? []).map(String) }),
      onError: (error) => resolve({ status, body: Buffer.concat(chunks).toString(), error }),
    });
  });
}

test('a request streams its body up and the response, with trailers, down; Host becomes :authority and te: trailers is sent', async (t) => {
  const { server, url } = await listen((stream, headers) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () => {
      stream.respond(
        { ':status': 200, 'x-seen': `${headers[':authority']} ${headers.te} ${headers[':method']} ${headers[':path']}` },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.concat(parts).toString().toUpperCase());
    });
  });
  const d = new H2Upstream(url, { tls: NO_TLS, connectTimeoutMs: 1000, idleTimeoutMs: 1000 });
  t.after(async () => {
    await d.close();
    server.close();
  });
  const r = await exchange(d, { method: 'POST', path: '/p?q', headers: ['host', 'app.internal', 'te', 'gzip'], body: Readable.from(['a', 'b']) });
  assert.equal(r.status, 200);
  assert.deepEqual(r.headers?.slice(0, 2), ['x-seen', 'app.internal trailers POST /p?q']);
  assert.equal(r.body, 'AB');
  assert.deepEqual(r.trailers, ['grpc-status', '0']);
});

/** An upstream that never answers, and how it saw the stream end (its RST_STREAM code). */
async function startSilentUpstream(t: { after(fn: () => unknown): void }) {
  let arrived: (stream: ServerHttp2Stream) => void = () => {};
  const stream = new Promise<ServerHttp2Stream>((resolve) => (arrived = resolve));
  const { server, url } = await listen((s) => arrived(s));
  const reset = () => stream.then((s) => (s.closed ? s.rstCode : new Promise<number>((resolve) => s.on('close', () => resolve(s.rstCode)))));
  const d = new H2Upstream(url, { tls: NO_TLS, connectTimeoutMs: 1000, idleTimeoutMs: 1000 });
  t.after(async () => {
    await d.destroy();
    server.close();
  });
  return { d, reset, stream };
}

test('an upstream that does not answer in time fails with the headers timeout code, and its stream is reset', async (t) => {
  const { d, reset } = await startSilentUpstream(t);
  const r = await exchange(d, { headersTimeout: 500 });
  assert.equal(r.error?.code, 'UND_ERR_HEADERS_TIMEOUT');
  assert.equal(await reset(), 8, 'RST_STREAM CANCEL');
});

test('an abort (the client went away) resets the upstream stream', async (t) => {
  const { d, reset, stream } = await startSilentUpstream(t);
  const r = await exchange(d, {}, (abort) => void stream.then(() => abort(new Error('the client went away'))));
  assert.equal(r.error?.message, 'the client went away');
  assert.equal(await reset(), 8);
});

test('a refused connection reports its code (ECONNREFUSED), which forward.ts retries on another endpoint', async () => {
  const { server, url } = await listen(() => {});
  await new Promise((r) => server.close(r));
  const d = new H2Upstream(url, { tls: NO_TLS, connectTimeoutMs: 1000, idleTimeoutMs: 1000 });
  const r = await exchange(d, {});
  assert.equal(r.error?.code, 'ECONNREFUSED');
  await d.destroy();
});

test("undici's request API works on it, as the health checks and outlier probes call it", async (t) => {
  await import('./undici-pool.js');
  const { server, url } = await listen((stream) => {
    stream.respond({ ':status': 204 });
    stream.end();
  });
  const d = new H2Upstream(url, { tls: NO_TLS, connectTimeoutMs: 1000, idleTimeoutMs: 1000 });
  t.after(async () => {
    await d.close();
    server.close();
  });
  const res = await d.request({ path: '/healthz', method: 'GET', headersTimeout: 1000 });
  assert.equal(res.statusCode, 204);
  await res.body.dump();
});
