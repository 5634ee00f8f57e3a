// Limits against abuse through the real stack (issue 17, point 8): per-address rate limits on sign-in, the IdP
// callback and back-channel logout; a route's rate_limit by address and by user; a route's max_request_body on a
// declared and on a chunked body; the listener's headers timeout (slowloris) and connection cap; no compressed body
// is inflated before authentication.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { loadVallumConfigText, startVallum } from '@vallum/cmd';
import { scrapeValue } from '@vallum/testing';
import { VALLUM_BIN, startStack, type Stack } from './harness.js';
import { hostGet } from './identity-helpers.js';

/** What the counting upstream saw of each request. */
interface Seen {
  bytes: number;
  completed: boolean;
  encoding: string | undefined;
}

let stack: Stack;
let upstream: Server;
const seen: Seen[] = [];
const BODY_LIMIT = 1024;

before(async () => {
  upstream = createServer((req: IncomingMessage, res) => {
    const entry: Seen = { bytes: 0, completed: false, encoding: req.headers['content-encoding'] };
    seen.push(entry);
    req.on('data', (chunk: Buffer) => (entry.bytes += chunk.length));
    req.on('end', () => {
      entry.completed = true;
      res.end(`received ${entry.bytes}`);
    });
    req.on('error', () => {});
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  stack = await startStack({
    mode: 'all-in-one',
    metrics: true,
    configExtra: ({ port, appUrl }) => `  - name: by-ip
    from: http://by-ip.localhost:${port}
    to: ${appUrl}
    allow_public_unauthenticated_access: true
    rate_limit: { requests: 3, per: 1m, key: ip }
  - name: by-user
    from: http://by-user.localhost:${port}
    to: ${appUrl}
    allow_any_authenticated_user: true
    rate_limit: { requests: 2, per: 1m, key: user }
  - name: body
    from: http://body.localhost:${port}
    to: ${upstreamUrl}
    allow_public_unauthenticated_access: true
    max_request_body: 1KiB
limits:
  sign_in: { requests: 3, per: 1m }
  backchannel_logout: { requests: 2, per: 1m }
  headers_timeout: 1s
`,
  });
});

after(async () => {
  await stack?.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

const authHost = () => new URL(stack.authenticateUrl).host;

/** How many requests authenticate's per-address limits refused so far at this endpoint (the metric operators watch). */
const limitedAt = (endpoint: string) => scrapeValue(stack.metricsUrls.all!, 'vallum_auth_rate_limited_requests_total', { endpoint });
/** How many 413s the body route's max_request_body has answered so far. */
const tooLargeCount = () => scrapeValue(stack.metricsUrls.all!, 'vallum_request_body_too_large_total', { route: 'body' });

/** Requests until one is refused (bounded): the statuses seen, and the refusal. */
async function hammer(send: () => Promise<{ status: number; headers: Record<string, unknown>; text: string }>, max = 10) {
  const statuses: number[] = [];
  for (let i = 0; i < max; i++) {
    const res = await send();
    statuses.push(res.status);
    if (res.status === 429) return { statuses, refused: res };
  }
  return { statuses, refused: undefined };
}

test('hammering /.vallum/sign_in from one address gets 429 with Retry-After and a readable page; X-Forwarded-For from an untrusted peer does not help', async () => {
  const path = `/.vallum/sign_in?redirect_uri=${encodeURIComponent(stack.appUrl)}`;
  const counted = await limitedAt('sign_in');
  const { statuses, refused } = await hammer(() => hostGet(stack, authHost(), path));
  assert.deepEqual(statuses, [302, 302, 302, 429]);
  assert.ok(Number(refused!.headers['retry-after']) >= 1, 'Retry-After in seconds');
  assert.match(String(refused!.headers['content-type']), /text\/html/);
  assert.match(refused!.text, /Too many requests/);
  const spoofed = await hostGet(stack, authHost(), path, { 'x-forwarded-for': '203.0.113.9' });
  assert.equal(spoofed.status, 429, 'the peer is not a trusted proxy: its X-Forwarded-For is not the client address');
  const json = await hostGet(stack, authHost(), path, { accept: 'application/json' });
  assert.equal(json.status, 429);
  assert.equal(JSON.parse(json.text).code, 'VALLUM_RATE_LIMITED');
  assert.equal((await limitedAt('sign_in')) - counted, 3, 'each refusal is counted');
});

test('hammering the IdP callback from one address gets 429 with Retry-After', async () => {
  const counted = await limitedAt('callback');
  const { statuses, refused } = await hammer(() => hostGet(stack, authHost(), '/oauth2/callback?code=x&state=y'));
  assert.deepEqual(statuses, [400, 400, 400, 429]);
  assert.ok(Number(refused!.headers['retry-after']) >= 1);
  assert.equal((await limitedAt('callback')) - counted, 1);
});

const postLogout = async (body: Buffer | string, headers: Record<string, string>) => {
  const res = await request(`${stack.proxyUrl}/.vallum/backchannel_logout`, {
    method: 'POST',
    headers: { host: authHost(), 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
};

test('a gzip body to back-channel logout is refused with 415, never inflated (GHSA-ggw3-5987-rx77)', async () => {
  const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 'a'));
  const res = await postLogout(bomb, { 'content-encoding': 'gzip' });
  assert.equal(res.status, 415);
  assert.equal(JSON.parse(res.text).code, 'VALLUM_UNSUPPORTED_CONTENT_ENCODING');
});

test('hammering back-channel logout from one address gets 429 with Retry-After, as JSON', async () => {
  const counted = await limitedAt('backchannel_logout');
  const { statuses, refused } = await hammer(() => postLogout('logout_token=not-a-token', {}));
  assert.deepEqual(statuses, [400, 400, 429]);
  assert.ok(Number(refused!.headers['retry-after']) >= 1);
  assert.equal(JSON.parse(refused!.text).code, 'VALLUM_RATE_LIMITED');
  assert.equal((await limitedAt('backchannel_logout')) - counted, 1);
});

test("a route's rate_limit keyed by ip: 429 with Retry-After past the budget, as a page or JSON", async () => {
  const host = `by-ip.localhost:${stack.port}`;
  const { statuses, refused } = await hammer(() => hostGet(stack, host, '/'));
  assert.deepEqual(statuses, [200, 200, 200, 429]);
  assert.ok(Number(refused!.headers['retry-after']) >= 1);
  assert.match(refused!.text, /Too many requests/);
  const json = await hostGet(stack, host, '/', { accept: 'application/json' });
  assert.equal(json.status, 429);
  assert.equal(JSON.parse(json.text).code, 'VALLUM_RATE_LIMITED');
});

test("a route's rate_limit keyed by user: each user has a budget of their own, from the same address", async () => {
  const configFile = join(mkdtempSync(join(tmpdir(), 'vallum-limits-')), 'vallum.yaml');
  writeFileSync(configFile, stack.configText);
  const token = async (name: string) =>
    (
      await promisify(execFile)(process.execPath, [VALLUM_BIN, 'service-account', 'create', '--name', name, '--expires', '1h', '--config', configFile])
    ).stdout.trim();
  const [ci, deploy] = await Promise.all([token('ci'), token('deploy')]);
  const host = `by-user.localhost:${stack.port}`;
  const as = (t: string) => () => hostGet(stack, host, '/', { authorization: `Bearer ${t}` });
  const first = await hammer(as(ci));
  assert.deepEqual(first.statuses, [200, 200, 429]);
  assert.ok(Number(first.refused!.headers['retry-after']) >= 1);
  assert.equal((await as(deploy)()).status, 200, 'another user from the same address is not limited');
});

test('max_request_body: a declared Content-Length over it gets 413 and the upstream never sees the request', async () => {
  const host = `body.localhost:${stack.port}`;
  const before = seen.length;
  const counted = await tooLargeCount();
  const big = await request(`${stack.proxyUrl}/upload`, { method: 'POST', headers: { host }, body: Buffer.alloc(BODY_LIMIT + 1, 'x') });
  assert.equal(big.statusCode, 413);
  assert.match(await big.body.text(), /larger than this application accepts/);
  assert.equal(seen.length, before, 'nothing was forwarded');
  assert.equal((await tooLargeCount()) - counted, 1, 'the 413 is counted');
  const ok = await request(`${stack.proxyUrl}/upload`, { method: 'POST', headers: { host }, body: Buffer.alloc(BODY_LIMIT, 'x') });
  assert.equal(ok.statusCode, 200);
  assert.equal(await ok.body.text(), `received ${BODY_LIMIT}`);
});

test('the proxy never inflates a request body: a gzip body reaches the upstream as sent, and max_request_body counts its wire bytes', async () => {
  const host = `body.localhost:${stack.port}`;
  const compressed = gzipSync(Buffer.alloc(256 * 1024, 'a'));
  assert.ok(compressed.length < BODY_LIMIT);
  const before = seen.length;
  const res = await request(`${stack.proxyUrl}/upload`, { method: 'POST', headers: { host, 'content-encoding': 'gzip' }, body: compressed });
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), `received ${compressed.length}`);
  assert.equal(seen[before]?.encoding, 'gzip');
});

/** Reads a socket until it closes (bounded): what the server sent, and whether it closed in time. */
function readUntilClosed(socket: Socket, timeoutMs: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const timer = setTimeout(() => resolve({ text, closed: false }), timeoutMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', () => {});
  });
}

test('max_request_body: a chunked body streaming past it gets 413, the upstream request is aborted and never gets the whole body', async () => {
  const before = seen.length;
  const counted = await tooLargeCount();
  const socket = connect(stack.port, '127.0.0.1');
  const done = readUntilClosed(socket, 10_000);
  socket.write(`POST /upload HTTP/1.1\r\nHost: body.localhost:${stack.port}\r\nTransfer-Encoding: chunked\r\n\r\n`);
  const chunk = Buffer.alloc(256, 'y');
  for (let i = 0; i < 64 && !socket.destroyed && socket.writable; i++) {
    socket.write(`${chunk.length.toString(16)}\r\n`);
    socket.write(chunk);
    socket.write('\r\n');
    await new Promise((r) => setTimeout(r, 10));
  }
  const { text, closed } = await done;
  socket.destroy();
  assert.match(text, /^HTTP\/1\.1 413 /);
  assert.ok(closed, 'the connection is closed: the rest of the body is never read');
  assert.equal((await tooLargeCount()) - counted, 1, 'the 413 is counted');
  // The request starts streaming to the upstream at once; under load the cut may come before the upstream saw it.
  assert.ok(seen.length <= before + 1);
  for (const entry of seen.slice(before)) {
    assert.equal(entry.completed, false, 'the upstream never got a complete body');
    assert.ok(entry.bytes <= BODY_LIMIT, `the upstream got ${entry.bytes} bytes, at most the limit`);
  }
});

test('slowloris: a client sending its request head slowly is cut off after headers_timeout', async () => {
  const socket = connect(stack.port, '127.0.0.1');
  const done = readUntilClosed(socket, 8_000);
  socket.write(`GET / HTTP/1.1\r\nHost: public.localhost:${stack.port}\r\n`);
  const started = Date.now();
  let closed = false;
  void done.then(() => (closed = true));
  // One header line every 200 ms, for at most 7 s: never the blank line that ends the head.
  for (let i = 0; i < 35 && !closed; i++) {
    await new Promise((r) => setTimeout(r, 200));
    if (socket.writable) socket.write(`X-Slow-${i}: a\r\n`);
  }
  const result = await done;
  socket.destroy();
  assert.ok(result.closed, 'the server closed the connection');
  assert.ok(Date.now() - started < 4_000, `closed after ${Date.now() - started} ms (headers_timeout 1s)`);
  assert.doesNotMatch(result.text, /^HTTP\/1\.1 200/);
  assert.equal((await hostGet(stack, `public.localhost:${stack.port}`, '/')).status, 200, 'normal requests are unaffected');
});

test('max_connections: a connection past the cap is closed at once and counted; one more fits when another closes', async () => {
  const text = stack.configText.replace('headers_timeout: 1s', 'headers_timeout: 1s\n  max_connections: 3');
  const vallum = await startVallum(loadVallumConfigText(text, stack.configFile), { address: '127.0.0.1:0', logger: false, metricsAddress: '127.0.0.1:0' });
  const open: Socket[] = [];
  try {
    const connectTo = () =>
      new Promise<Socket>((resolve, reject) => {
        const s = connect(vallum.port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      });
    const ask = async (s: Socket) => {
      const done = readUntilClosed(s, 3_000);
      s.write('GET /.vallum/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      return done;
    };
    for (let i = 0; i < 3; i++) open.push(await connectTo());
    // Give the server time to accept all three.
    await new Promise((r) => setTimeout(r, 200));
    const extra = await connectTo().catch(() => undefined);
    if (extra) {
      const answer = await ask(extra);
      assert.equal(answer.text, '', 'no answer past the cap');
      assert.ok(answer.closed);
    }
    assert.equal(await scrapeValue(vallum.metricsUrl!, 'vallum_connections_dropped_total'), 1, 'the dropped connection is counted');
    const first = await ask(open.shift()!);
    assert.match(first.text, /^HTTP\/1\.1 200/, 'connections within the cap are served');
    await new Promise((r) => setTimeout(r, 200));
    const again = await ask(await connectTo());
    assert.match(again.text, /^HTTP\/1\.1 200/, 'a freed place is taken');
  } finally {
    for (const s of open) s.destroy();
    await vallum.close();
  }
});

test('request_timeout cuts a body sent slowly, and keep_alive_timeout closes an idle connection', async () => {
  const text = stack.configText.replace('headers_timeout: 1s', 'headers_timeout: 1s\n  request_timeout: 2s\n  keep_alive_timeout: 1s');
  const vallum = await startVallum(loadVallumConfigText(text, stack.configFile), { address: '127.0.0.1:0', logger: false });
  try {
    // A whole head at once, then a 100-byte body one byte every 200 ms: 20 s if nothing cut it.
    const before = seen.length;
    const slow = connect(vallum.port, '127.0.0.1');
    const cut = readUntilClosed(slow, 8_000);
    const started = Date.now();
    slow.write(`POST /upload HTTP/1.1\r\nHost: body.localhost:${stack.port}\r\nContent-Length: 100\r\n\r\n`);
    let closed = false;
    void cut.then(() => (closed = true));
    for (let i = 0; i < 100 && !closed; i++) {
      await new Promise((r) => setTimeout(r, 200));
      if (slow.writable) slow.write('x');
    }
    const result = await cut;
    slow.destroy();
    assert.ok(result.closed, 'the server closed the connection');
    assert.ok(Date.now() - started < 6_000, `closed after ${Date.now() - started} ms (request_timeout 2s)`);
    assert.doesNotMatch(result.text, /^HTTP\/1\.1 200/);
    assert.ok(
      seen.slice(before).every((entry) => !entry.completed),
      'the upstream never got the whole body',
    );

    // A served request on a keep-alive connection, then silence: the server closes it after keep_alive_timeout.
    const idle = connect(vallum.port, '127.0.0.1');
    const ended = readUntilClosed(idle, 6_000);
    const asked = Date.now();
    idle.write(`GET /.vallum/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const answer = await ended;
    idle.destroy();
    assert.match(answer.text, /^HTTP\/1\.1 200/);
    assert.ok(answer.closed, 'the idle connection was closed');
    assert.ok(Date.now() - asked < 4_000, `closed after ${Date.now() - asked} ms (keep_alive_timeout 1s)`);
  } finally {
    await vallum.close();
  }
});
