import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { H1Upstream, type BorrowingHandler, type H1UpstreamOptions } from './h1-upstream.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OPTIONS: H1UpstreamOptions = { tls: { skipVerify: false } as never, connectTimeoutMs: 1000, keepAliveMaxMs: 5000, maxConnections: 16 };

interface Seen {
  status?: number;
  headers?: string[];
  body: Buffer;
  trailers?: string[];
  error?: Error & { code?: string };
}

/** Dispatches one request and collects what the handler saw; `borrow` takes chunks as forward.ts does. */
function exchange(d: Dispatcher, opts: Partial<Dispatcher.DispatchOptions> = {}, borrow?: (chunk: Buffer, resume: () => void) => boolean): Promise<Seen> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let status: number | undefined;
    let headers: string[] | undefined;
    let resume: () => void = () => {};
    const handler: BorrowingHandler = {
      onConnect() {},
      onHeaders(s, raw, r) {
        status = s;
        headers = raw.map(String);
        resume = r;
        return true;
      },
      onComplete: (t) => resolve({ status, headers, body: Buffer.concat(chunks), trailers: (t ?? []).map(String) }),
      onError: (error) => resolve({ status, body: Buffer.concat(chunks), error }),
    };
    if (borrow) {
      handler.onBorrowedData = (chunk) => {
        chunks.push(Buffer.from(chunk));
        return borrow(chunk, resume);
      };
    } else {
      handler.onData = (chunk) => {
        chunks.push(chunk);
        return true;
      };
    }
    d.dispatch({ path: '/', method: 'GET', headers: [], body: null, ...opts } as Dispatcher.DispatchOptions, handler);
  });
}

async function listen(server: Server): Promise<URL> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

/** A raw TCP upstream: each connection's bytes go to `onRequest` once a request head has arrived. */
async function rawUpstream(t: { after(fn: () => unknown): void }, onRequest: (socket: Socket, head: string, index: number) => void) {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let pending = '';
    socket.on('data', (d) => {
      pending += d.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        onRequest(socket, head, requests++);
      }
    });
    socket.on('error', () => {});
  });
  const url = await listen(server);
  const connections = { count: 0 };
  server.on('connection', () => connections.count++);
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { url, connections, sockets };
}

async function httpUpstream(t: { after(fn: () => unknown): void }, handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createHttpServer(handle);
  const url = await listen(server);
  const connections = { count: 0 };
  server.on('connection', () => connections.count++);
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url, connections };
}

function upstream(t: { after(fn: () => unknown): void }, url: URL, options: Partial<H1UpstreamOptions> = {}): H1Upstream {
  const d = new H1Upstream(url, { ...OPTIONS, ...options });
  t.after(() => d.destroy());
  return d;
}

test('responses with a length come back whole over one kept-alive connection; the request carries its headers and Host', async (t) => {
  const seen: string[] = [];
  const { url, connections } = await httpUpstream(t, (req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.host} ${req.headers['x-a']}`);
    res.end(`hello ${req.url}`);
  });
  const d = upstream(t, url);
  for (let i = 0; i < 3; i++) {
    const r = await exchange(d, { path: `/p${i}?q=1`, headers: ['host', 'app.internal', 'x-a', 'b'] });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), `hello /p${i}?q=1`);
  }
  const r = await exchange(d, { path: '/none', headers: { 'x-a': 'c' } });
  assert.equal(r.body.toString(), 'hello /none');
  assert.deepEqual(seen, ['GET /p0?q=1 app.internal b', 'GET /p1?q=1 app.internal b', 'GET /p2?q=1 app.internal b', `GET /none ${url.host} c`]);
  assert.equal(connections.count, 1);
});

test('a chunked response written a byte at a time arrives whole, with its trailers, and the connection is reused', async (t) => {
  const { url, connections } = await rawUpstream(t, async (socket) => {
    const wire = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-sum: 42\r\n\r\n';
    for (const c of wire) {
      socket.write(c);
      await sleep(0);
    }
  });
  const d = upstream(t, url);
  for (let i = 0; i < 2; i++) {
    const r = await exchange(d);
    assert.equal(r.error, undefined);
    assert.equal(r.body.toString(), 'hello world');
    assert.deepEqual(r.trailers, ['x-sum', '42']);
  }
  assert.equal(connections.count, 1);
});

test('a response head split over reads and after a 103 is parsed; HEAD, 204 and 304 have no body', async (t) => {
  const { url } = await rawUpstream(t, async (socket, head) => {
    const path = head.split(' ')[1];
    if (path === '/split') {
      socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-');
      await sleep(20);
      socket.write('Length: 3\r\nX-Big: ');
      await sleep(20);
      socket.write(`${'v'.repeat(20000)}\r\n\r\nabc`);
    } else if (path === '/head') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
    else if (path === '/204') socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    else socket.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n');
  });
  const d = upstream(t, url);
  const split = await exchange(d, { path: '/split' });
  assert.equal(split.status, 200);
  assert.equal(split.body.toString(), 'abc');
  assert.equal(split.headers?.[3]?.length, 20000);
  const head = await exchange(d, { path: '/head', method: 'HEAD' });
  assert.deepEqual([head.status, head.body.length, head.error], [200, 0, undefined]);
  assert.deepEqual([(await exchange(d, { path: '/204' })).status, (await exchange(d, { path: '/304' })).status], [204, 304]);
});

test('a response without a length runs until the upstream closes, and that connection is not reused', async (t) => {
  const { url, connections } = await rawUpstream(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\n\r\npart one, ');
    setTimeout(() => socket.end('part two'), 20);
  });
  const d = upstream(t, url);
  assert.equal((await exchange(d)).body.toString(), 'part one, part two');
  assert.equal((await exchange(d)).body.toString(), 'part one, part two');
  assert.equal(connections.count, 2);
});

test('a malformed response fails the exchange and closes the connection', async (t) => {
  const answers: Record<string, string> = {
    '/status': 'HTTX/1.1 200 OK\r\n\r\n',
    '/length': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    '/fold': 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n',
    '/chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    '/upgrade': 'HTTP/1.1 101 Switching Protocols\r\n\r\n',
  };
  const { url, connections } = await rawUpstream(t, (socket, head) => socket.write(answers[head.split(' ')[1]!]!));
  const d = upstream(t, url);
  for (const path of Object.keys(answers)) {
    const r = await exchange(d, { path });
    assert.equal(r.error?.code, 'UND_ERR_INVALID_RESPONSE', path);
  }
  assert.equal(connections.count, Object.keys(answers).length);
});

test('a kept-alive connection the upstream closed meanwhile is replaced and the request sent again once', async (t) => {
  const { url, connections, sockets } = await rawUpstream(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const d = upstream(t, url);
  assert.equal((await exchange(d)).body.toString(), 'ok');
  // The upstream drops its idle connection without a word (a reset arrives only once the request is written).
  for (const s of sockets) s.resetAndDestroy();
  await sleep(20);
  const again = await exchange(d);
  assert.equal(again.error, undefined);
  assert.equal(again.body.toString(), 'ok');
  assert.equal(connections.count, 2);
});

test('an upstream that dies in the middle of a body fails the exchange after its headers', async (t) => {
  const { url } = await rawUpstream(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly some');
    setTimeout(() => socket.destroy(), 20);
  });
  const r = await exchange(upstream(t, url));
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'only some');
  assert.equal(r.error?.code, 'UND_ERR_SOCKET');
});

test('a borrowing handler that holds a chunk gets nothing more until it resumes, and a large body arrives intact', async (t) => {
  const body = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7919) % 251;
  const { url } = await httpUpstream(t, (_req, res) => res.end(body));
  const d = upstream(t, url);
  let holding = false;
  let violations = 0;
  let holds = 0;
  const r = await exchange(d, {}, (_chunk, resume) => {
    if (holding) violations++;
    // Hold every third chunk for a moment, as a client socket that has not taken the bytes yet.
    if (++holds % 3 !== 0) return true;
    holding = true;
    setTimeout(() => {
      holding = false;
      resume();
    }, 2);
    return false;
  });
  assert.equal(r.error, undefined);
  assert.equal(violations, 0);
  assert.ok(holds > 10, `${holds} chunks`);
  assert.equal(createHash('sha256').update(r.body).digest('hex'), createHash('sha256').update(body).digest('hex'));
});

test('request bodies go up with their length, or chunked when they have none', async (t) => {
  const { url } = await httpUpstream(t, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => res.end(`${req.headers['transfer-encoding'] ?? '-'} ${req.headers['content-length'] ?? '-'} ${Buffer.concat(parts).toString()}`));
  });
  const d = upstream(t, url);
  const chunked = await exchange(d, { method: 'POST', body: Readable.from([Buffer.from('ab'), Buffer.from(''), Buffer.from('cd')]) });
  assert.equal(chunked.body.toString(), 'chunked - abcd');
  const sized = await exchange(d, { method: 'PUT', headers: ['content-length', '4'], body: Readable.from([Buffer.from('wxyz')]) });
  assert.equal(sized.body.toString(), '- 4 wxyz');
  assert.equal((await exchange(d, { method: 'POST', body: 'text' })).body.toString(), '- 4 text');
  assert.equal((await exchange(d, { method: 'POST' })).body.toString(), '- 0 ');
});

test('headers timeout, refused connections and a header that would split the request are errors with codes', async (t) => {
  const { url } = await rawUpstream(t, () => {});
  const slow = await exchange(upstream(t, url), { headersTimeout: 100 });
  assert.equal(slow.error?.code, 'UND_ERR_HEADERS_TIMEOUT');
  const closed = createNetServer();
  const closedUrl = await listen(closed);
  await new Promise((r) => closed.close(r));
  assert.equal((await exchange(upstream(t, closedUrl))).error?.code, 'ECONNREFUSED');
  const seen: string[] = [];
  const { url: echo } = await httpUpstream(t, (req, res) => {
    seen.push(req.url ?? '');
    res.end();
  });
  const injected = await exchange(upstream(t, echo), { headers: ['x-a', 'b\r\nx-evil: 1'] });
  assert.equal(injected.error?.code, 'UND_ERR_INVALID_ARG');
  assert.deepEqual(seen, []);
});

test('requests beyond maxConnections wait for a connection, and Keep-Alive: timeout=1 is not reused', async (t) => {
  const { url, connections } = await httpUpstream(t, (req, res) => {
    setTimeout(() => res.end(req.url), 20);
  });
  const d = upstream(t, url, { maxConnections: 2 });
  const all = await Promise.all(Array.from({ length: 6 }, (_, i) => exchange(d, { path: `/${i}` })));
  assert.deepEqual(
    all.map((r) => r.body.toString()),
    ['/0', '/1', '/2', '/3', '/4', '/5'],
  );
  assert.equal(connections.count, 2);
  const { url: brief, connections: briefConnections } = await rawUpstream(t, (socket) =>
    socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 1\r\n\r\nk'),
  );
  const b = upstream(t, brief);
  await exchange(b);
  await exchange(b);
  assert.equal(briefConnections.count, 2);
});

test('the undici request API (health checks) works over it, and a closed dispatcher refuses work', async (t) => {
  const { url } = await httpUpstream(t, (_req, res) => {
    res.setHeader('x-a', '1');
    res.end('healthy');
  });
  const d = new H1Upstream(url, OPTIONS);
  const res = await d.request({ path: '/', method: 'GET', headers: { 'user-agent': 'probe' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-a'], '1');
  assert.equal(await res.body.text(), 'healthy');
  await d.close();
  assert.equal((await exchange(d)).error?.code, 'UND_ERR_CLOSED');
});

test('a handler that never lets go of its last chunk does not keep close() waiting past the body timeout', async (t) => {
  const { url } = await httpUpstream(t, (_req, res) => res.end('last'));
  const d = new H1Upstream(url, OPTIONS);
  t.after(() => d.destroy());
  const r = await exchange(d, { bodyTimeout: 100 }, () => false);
  assert.equal(r.body.toString(), 'last');
  const closed = await Promise.race([d.close().then(() => 'closed'), sleep(3000).then(() => 'still waiting')]);
  assert.equal(closed, 'closed');
});
