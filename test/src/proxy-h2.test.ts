// HTTP/2 on the https listener (ALPN), with HTTP/1.1 on the same port: the same pipeline (match → check → forward |
// respond) for both, the same identity headers, and the HTTP/2 conformance points (RFC 9113 §8.2.2, §8.3) checked
// with a client that writes its own frames, so it can send what node's and curl's clients refuse to.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSecureServer, connect as h2Connect, type ClientHttp2Session, type Http2SecureServer, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { loadVallumConfigText, startVallum, type RunningVallum } from '@vallum/cmd';
import { createApiTokenCodec } from '@vallum/session';
import { getFreePort, startHttpUpstream, type HttpUpstream } from '@vallum/testing';
import { issueTestCertificates, type TestCertificates } from './test-certificates.js';

let certs: TestCertificates;
let upstream: HttpUpstream;
let h2Upstream: Http2SecureServer;
let vallum: RunningVallum;
let agent: Agent;
let session: ClientHttp2Session;
let sharedSecret: string;

interface Seen {
  version: string;
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

before(async () => {
  certs = issueTestCertificates(['public.localhost', 'app.localhost', 'h2.localhost', 'authenticate.localhost']);
  upstream = await startHttpUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (req.url === '/slow') await new Promise((r) => setTimeout(r, 500));
      const seen: Seen = { version: req.httpVersion, method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() };
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive', 'keep-alive': 'timeout=5' });
      res.end(JSON.stringify(seen));
    });
  });
  upstream.server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()));
    socket.on('end', () => socket.end());
  });
  // An HTTP/2-only upstream over TLS (upstream_protocol: h2), answering with what it saw and a trailer.
  h2Upstream = createSecureServer({ cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) }, (req, res) => {
    const seen = { version: req.httpVersion, method: req.method, url: req.url, headers: req.headers };
    res.writeHead(200, { 'content-type': 'application/json', trailer: 'x-checksum' });
    res.addTrailers({ 'x-checksum': 'abc' });
    res.end(JSON.stringify(seen));
  });
  await new Promise<void>((resolve) => h2Upstream.listen(0, '127.0.0.1', resolve));
  const h2Port = (h2Upstream.address() as AddressInfo).port;
  const port = await getFreePort();
  const text = `authenticate_service_url: https://authenticate.localhost:${port}
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: secret, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
log_level: silent
certificate_file: ${certs.certFile}
key_file: ${certs.keyFile}
routes:
  - from: https://public.localhost:${port}
    to: ${upstream.url}
    allow_public_unauthenticated_access: true
    set_request_headers: { X-Env: test }
    max_request_body: 16
    allow_websockets: true
  - from: https://h2.localhost:${port}
    to: https://127.0.0.1:${h2Port}
    upstream_protocol: h2
    tls_custom_ca_file: ${certs.caFile}
    allow_public_unauthenticated_access: true
  - from: https://app.localhost:${port}
    to: ${upstream.url}
    policy:
      allow:
        or:
          - groups: { has: engineering }
`;
  const config = loadVallumConfigText(text, 'vallum.yaml', { env: {} });
  sharedSecret = 's'.repeat(32);
  vallum = await startVallum(config, { address: `127.0.0.1:${port}`, logger: false });
  agent = new Agent({ connect: { ca: certs.ca, servername: 'localhost' } });
  session = h2Connect(vallum.url, { ca: certs.ca, servername: 'localhost' });
});

after(async () => {
  session?.close();
  await agent?.close();
  await vallum?.close();
  await upstream?.close();
  await new Promise((r) => h2Upstream?.close(r));
});

const host = (name: string) => `${name}.localhost:${vallum.port}`;

/** One request over the shared HTTP/2 session: status, headers and body. */
function h2(name: string, path: string, headers: Record<string, string> = {}, body?: string) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const stream = session.request(
      { ':path': path, ':authority': host(name), ...(body === undefined ? {} : { ':method': 'POST' }), ...headers },
      { endStream: body === undefined },
    );
    let response: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (response = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(response[':status']), headers: response, body: Buffer.concat(chunks).toString() }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

const bearer = async (groups: string[]) =>
  `Bearer ${await createApiTokenCodec(sharedSecret).sign({ kind: 'service-account', name: 'ci', groups, expiresAt: Date.now() + 3_600_000 })}`;

test('an HTTP/2 client is served a route page through the same pipeline, and the upstream gets HTTP/1.1 with the usual headers', async () => {
  const res = await h2('public', '/page?q=1', { 'x-vallum-claim-email': 'forged@example.com', 'x-forwarded-for': '6.6.6.6' });
  assert.equal(res.status, 200);
  assert.ok(res.headers['x-request-id'], 'the request id is returned');
  assert.equal(res.headers.connection, undefined);
  const seen = JSON.parse(res.body) as Seen;
  assert.equal(seen.version, '1.1');
  assert.equal(seen.url, '/page?q=1');
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(seen.headers['x-forwarded-host'], host('public'));
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'the client copy is replaced by the peer');
  assert.equal(seen.headers['x-env'], 'test', 'the route header rules apply');
  assert.equal(seen.headers['x-vallum-claim-email'], undefined, 'client identity headers never pass');
  assert.ok(!Object.keys(seen.headers).some((n) => n.startsWith(':')), 'no pseudo-header reaches the upstream');
});

test("Vallum's own pages (fastify) and probes answer over HTTP/2", async () => {
  const jwks = await h2('app', '/.well-known/vallum/jwks.json');
  assert.equal(jwks.status, 200);
  assert.ok(Array.isArray((JSON.parse(jwks.body) as { keys: unknown[] }).keys));
  assert.equal((await h2('app', '/.vallum/healthz')).status, 200);
  const userPage = await h2('app', '/.vallum/', { accept: 'text/html' });
  assert.equal(userPage.status, 302, 'the user page sends a visitor without a session to sign in');
});

test('HTTP/1.1 on the same port is served as before', async () => {
  const res = await request(`${vallum.url}/page`, { dispatcher: agent, headers: { host: host('public') } });
  assert.equal(res.statusCode, 200);
  assert.equal(((await res.body.json()) as Seen).headers['x-forwarded-proto'], 'https');
});

test('a WebSocket upgrade over HTTP/1.1 on the https listener still works (upgrades are HTTP/1.1 only)', async () => {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1',
      port: vallum.port,
      path: '/ws',
      ca: certs.ca,
      servername: 'localhost',
      headers: { host: host('public'), connection: 'Upgrade', upgrade: 'websocket' },
    });
    req.on('upgrade', (_res, s: Socket) => resolve(s));
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
  const echoed = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
  socket.write('hello');
  assert.equal(await echoed, 'HELLO');
  socket.destroy();
});

test('an HTTP/2 request body without content-length is forwarded (chunked upstream), and max_request_body counts it', async () => {
  const res = await h2('public', '/upload', { 'content-type': 'text/plain' }, 'twelve bytes');
  assert.equal(res.status, 200);
  const seen = JSON.parse(res.body) as Seen;
  assert.equal(seen.method, 'POST');
  assert.equal(seen.body, 'twelve bytes');
  const tooLarge = await h2('public', '/upload', {}, 'x'.repeat(64));
  assert.equal(tooLarge.status, 413);
});

test('HTTP/2 without a session: the sign-in redirect; with a bearer token the policy decides and identity headers are sent', async () => {
  const anonymous = await h2('app', '/dashboard', { accept: 'text/html' });
  assert.equal(anonymous.status, 302);
  assert.match(String(anonymous.headers.location), new RegExp(`^https://authenticate\\.localhost:${vallum.port}/`));

  const denied = await h2('app', '/dashboard', { authorization: await bearer(['sales']), accept: 'application/json' });
  assert.equal(denied.status, 403);
  assert.equal((JSON.parse(denied.body) as { code: string }).code, 'VALLUM_ACCESS_DENIED');

  const allowed = await h2('app', '/dashboard', { authorization: await bearer(['engineering']), 'x-vallum-claim-groups': 'admins' });
  assert.equal(allowed.status, 200);
  const seen = JSON.parse(allowed.body) as Seen;
  assert.equal(seen.headers['x-vallum-claim-groups'], 'engineering');
  assert.ok(seen.headers['x-vallum-jwt-assertion'], 'the signed assertion is sent');
  assert.equal(seen.headers.authorization, undefined, "Vallum's own bearer token never reaches the app");
});

test('upstream_protocol h2: HTTP/2 over TLS to the upstream, with te: trailers sent and its trailers carried to the client', async () => {
  const trailers = await new Promise<{ status: number; body: string; trailers: IncomingHttpHeaders }>((resolve, reject) => {
    const stream = session.request({ ':path': '/grpc-like?x=1', ':authority': host('h2') });
    let status = 0;
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString(), trailers }));
    stream.on('error', reject);
  });
  assert.equal(trailers.status, 200);
  const seen = JSON.parse(trailers.body) as Seen;
  assert.equal(seen.version, '2.0');
  assert.equal(seen.url, '/grpc-like?x=1');
  assert.equal(seen.headers.te, 'trailers');
  assert.equal(seen.headers[':authority'], `127.0.0.1:${(h2Upstream.address() as AddressInfo).port}`, "the upstream's own authority, as Host is for HTTP/1.1");
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(trailers.trailers['x-checksum'], 'abc');

  const overHttp1 = await request(`${vallum.url}/from-http1`, { dispatcher: agent, headers: { host: host('h2') } });
  assert.equal(overHttp1.statusCode, 200, 'an HTTP/1.1 client reaches the HTTP/2 upstream too');
  assert.equal(((await overHttp1.body.json()) as Seen).version, '2.0');
});

test('curl --http2: the page, and the sign-in redirect', async () => {
  const curl = (name: string, path: string) =>
    promisify(execFile)('curl', [
      '-s',
      '--http2',
      '--cacert',
      certs.caFile,
      '--resolve',
      `${name}.localhost:${vallum.port}:127.0.0.1`,
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %{http_version}',
      `https://${host(name)}${path}`,
    ]);
  assert.equal((await curl('public', '/')).stdout, '200 2');
  assert.equal((await curl('app', '/')).stdout, '302 2');
});

/** What Vallum answers one stream whose header block is written as given: `:status` or the stream's reset. */
function rawH2(fields: Array<[string, string]>): Promise<{ status?: number; reset?: number }> {
  const block = Buffer.concat(fields.map(([n, v]) => Buffer.concat([Buffer.from([0, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v)])));
  const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
    const head = Buffer.alloc(9);
    head.writeUIntBE(payload.length, 0, 3);
    head[3] = type;
    head[4] = flags;
    head.writeUInt32BE(stream, 5);
    return Buffer.concat([head, payload]);
  };
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: vallum.port, ca: certs.ca, servername: 'localhost', ALPNProtocols: ['h2'] }, () => {
      socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      socket.write(frame(4, 0, 0, Buffer.alloc(0)));
      // END_STREAM | END_HEADERS, literal fields without indexing or Huffman coding.
      socket.write(frame(1, 5, 1, block));
    });
    let buffered = Buffer.alloc(0);
    const done = (answer: { status?: number; reset?: number }) => {
      socket.destroy();
      resolve(answer);
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) return;
        const type = buffered[3]!;
        const stream = buffered.readUInt32BE(5) & 0x7fffffff;
        const payload = buffered.subarray(9, 9 + length);
        buffered = buffered.subarray(9 + length);
        // nghttp2 sends :status as an indexed field of the static table: 0x88 is 200, 0x8c is 400.
        if (type === 1 && stream === 1) return done({ status: ({ 136: 200, 140: 400, 141: 404 } as Record<number, number>)[payload[0]!] ?? -payload[0]! });
        if (type === 3 && stream === 1) return done({ reset: payload.readUInt32BE(0) });
        if (type === 7) return done({ reset: payload.readUInt32BE(4) });
      }
    });
    socket.on('error', reject);
  });
}

const PROTOCOL_ERROR = 1;

test('HTTP/2 conformance: connection-specific fields, te other than trailers and bad pseudo-headers get a stream error', async () => {
  const base = (): Array<[string, string]> => [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/'],
    [':authority', host('public')],
  ];
  assert.deepEqual(await rawH2(base()), { status: 200 }, 'the well-formed request is served');
  assert.deepEqual(await rawH2([...base(), ['te', 'trailers']]), { status: 200 }, 'te: trailers is allowed');
  for (const [name, value] of [
    ['connection', 'keep-alive'],
    ['keep-alive', 'timeout=5'],
    ['proxy-connection', 'keep-alive'],
    ['transfer-encoding', 'chunked'],
    ['upgrade', 'websocket'],
    ['te', 'gzip'],
  ] as const) {
    assert.deepEqual(await rawH2([...base(), [name, value]]), { reset: PROTOCOL_ERROR }, `${name}: ${value}`);
  }
  const without = (name: string) => base().filter(([n]) => n !== name);
  assert.deepEqual(await rawH2(without(':path')), { reset: PROTOCOL_ERROR }, 'no :path');
  assert.deepEqual(await rawH2(without(':method')), { reset: PROTOCOL_ERROR }, 'no :method');
  assert.deepEqual(await rawH2([...base(), [':path', '/again']]), { reset: PROTOCOL_ERROR }, 'a repeated pseudo-header');
  assert.deepEqual(await rawH2([...base(), [':protocol', 'x']]), { reset: PROTOCOL_ERROR }, 'an unknown pseudo-header');
  assert.deepEqual(await rawH2([['accept', '*/*'], ...base()]), { reset: PROTOCOL_ERROR }, 'a pseudo-header after a regular field');
  assert.deepEqual(await rawH2([...base(), ['Accept', '*/*']]), { reset: PROTOCOL_ERROR }, 'an upper-case field name');
});

test('HTTP/2 conformance: :authority and Host must agree when both are sent; Host alone is enough', async () => {
  const fields = (authority: string, hostHeader: string): Array<[string, string]> => [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/'],
    [':authority', authority],
    ['host', hostHeader],
  ];
  assert.deepEqual(await rawH2(fields(host('public'), host('app'))), { status: 400 });
  assert.deepEqual(await rawH2(fields(host('public'), host('public').toUpperCase())), { status: 200 }, 'compared without case');
  assert.deepEqual(
    await rawH2([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/'],
      ['host', host('public')],
    ]),
    { status: 200 },
  );
});

/** A Vallum of the test's own (to stop, or with other limits), with the public route. */
async function startOwnVallum(extra: string): Promise<RunningVallum> {
  const port = await getFreePort();
  const text = `authenticate_service_url: https://authenticate.localhost:${port}
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: secret, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
log_level: silent
certificate_file: ${certs.certFile}
key_file: ${certs.keyFile}
${extra}
routes:
  - from: https://public.localhost:${port}
    to: ${upstream.url}
    allow_public_unauthenticated_access: true
`;
  return startVallum(loadVallumConfigText(text, 'vallum.yaml', { env: {} }), { address: `127.0.0.1:${port}`, logger: false });
}

test('a graceful shutdown sends GOAWAY to HTTP/2 clients and lets the stream in flight finish', async () => {
  const own = await startOwnVallum('shutdown_grace: 5s');
  const client = h2Connect(own.url, { ca: certs.ca, servername: 'localhost' });
  const goaway = new Promise<boolean>((resolve) => client.once('goaway', () => resolve(true)));
  const inFlight = new Promise<number>((resolve, reject) => {
    const stream = client.request({ ':path': '/slow', ':authority': `public.localhost:${own.port}` });
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', () => {});
    stream.on('end', () => resolve(status));
    stream.on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 100));
  const stopped = own.shutdown();
  assert.equal(await goaway, true, 'the client is told to open no new stream');
  assert.equal(await inFlight, 200, 'the stream in flight is answered');
  await stopped;
  client.destroy();
});

test('limits.keep_alive_timeout closes an idle HTTP/2 session (GOAWAY)', async (t) => {
  const own = await startOwnVallum('limits: { keep_alive_timeout: 300ms }');
  t.after(() => own.close());
  const client = h2Connect(own.url, { ca: certs.ca, servername: 'localhost' });
  const outcome = await Promise.race([
    new Promise<string>((resolve) => client.once('goaway', () => resolve('goaway'))),
    new Promise<string>((resolve) => setTimeout(() => resolve('still open after 5 s'), 5_000).unref()),
  ]);
  assert.equal(outcome, 'goaway');
  client.destroy();
});
