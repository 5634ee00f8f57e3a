// gRPC through Vallum: a real @grpc/grpc-js client over TLS + HTTP/2 to Vallum's https listener, and a real grpc-js
// server behind it spoken to as h2c (`upstream_protocol: h2c`). Unary and streaming calls, statuses and messages
// carried in trailers, deadlines, and the access check (no credentials, a denied and an allowed bearer token).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { loadVallumConfigText, startVallum, type RunningVallum } from '@vallum/cmd';
import { createApiTokenCodec } from '@vallum/session';
import { getFreePort } from '@vallum/testing';
import { issueTestCertificates, type TestCertificates } from './test-certificates.js';

const PROTO = `syntax = "proto3";
package echo;
message Msg { string text = 1; int32 wait_ms = 2; }
service Echo {
  rpc Say (Msg) returns (Msg);
  rpc Count (Msg) returns (stream Msg);
  rpc Join (stream Msg) returns (Msg);
  rpc Chat (stream Msg) returns (stream Msg);
}
`;

interface Msg {
  text: string;
  wait_ms?: number;
}
type EchoClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

let certs: TestCertificates;
let server: grpc.Server;
let vallum: RunningVallum;
let Echo: grpc.ServiceClientConstructor;
const seen: { metadata: grpc.Metadata[]; deadlines: number[]; cancelled: number } = { metadata: [], deadlines: [], cancelled: 0 };
const SECRET = 's'.repeat(32);

before(async () => {
  certs = issueTestCertificates(['grpc.localhost', 'grpc-auth.localhost', 'grpc-down.localhost']);
  const protoFile = join(mkdtempSync(join(tmpdir(), 'vallum-grpc-')), 'echo.proto');
  writeFileSync(protoFile, PROTO);
  const definition = grpc.loadPackageDefinition(protoLoader.loadSync(protoFile, { keepCase: true, defaults: true })) as unknown as {
    echo: { Echo: grpc.ServiceClientConstructor };
  };
  Echo = definition.echo.Echo;
  server = new grpc.Server();
  server.addService(Echo.service, {
    Say(call: grpc.ServerUnaryCall<Msg, Msg>, callback: grpc.sendUnaryData<Msg>) {
      seen.metadata.push(call.metadata);
      seen.deadlines.push(Number(call.getDeadline()));
      const { text, wait_ms } = call.request;
      if (text === 'fail') return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'text must not be fail' });
      if (wait_ms) {
        const timer = setTimeout(() => callback(null, { text }), wait_ms);
        call.on('cancelled', () => {
          seen.cancelled++;
          clearTimeout(timer);
        });
        return;
      }
      callback(null, { text: `said ${text}` });
    },
    Count(call: grpc.ServerWritableStream<Msg, Msg>) {
      for (let i = 1; i <= 3; i++) call.write({ text: `${call.request.text} ${i}` });
      const trailer = new grpc.Metadata();
      trailer.set('x-count', '3');
      call.end(trailer);
    },
    Join(call: grpc.ServerReadableStream<Msg, Msg>, callback: grpc.sendUnaryData<Msg>) {
      const parts: string[] = [];
      call.on('data', (m: Msg) => parts.push(m.text));
      call.on('end', () => callback(null, { text: parts.join('+') }));
    },
    Chat(call: grpc.ServerDuplexStream<Msg, Msg>) {
      call.on('data', (m: Msg) => call.write({ text: `re: ${m.text}` }));
      call.on('end', () => call.end());
    },
  });
  const upstreamPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  const port = await getFreePort();
  const nobody = await getFreePort();
  const text = `authenticate_service_url: https://authenticate.localhost:${port}
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: secret, allow_insecure_http: true }
shared_secret: ${SECRET}
cookie_secret: ${'c'.repeat(32)}
log_level: silent
certificate_file: ${certs.certFile}
key_file: ${certs.keyFile}
routes:
  - from: https://grpc.localhost:${port}
    to: http://127.0.0.1:${upstreamPort}
    upstream_protocol: h2c
    allow_public_unauthenticated_access: true
  - from: https://grpc-down.localhost:${port}
    to: http://127.0.0.1:${nobody}
    upstream_protocol: h2c
    allow_public_unauthenticated_access: true
  - from: https://grpc-auth.localhost:${port}
    to: http://127.0.0.1:${upstreamPort}
    upstream_protocol: h2c
    policy:
      allow:
        or:
          - groups: { has: engineering }
`;
  vallum = await startVallum(loadVallumConfigText(text, 'vallum.yaml', { env: {} }), { address: `127.0.0.1:${port}`, logger: false });
});

after(async () => {
  await vallum?.close();
  server?.forceShutdown();
});

function client(name: string): EchoClient {
  const authority = `${name}.localhost:${vallum.port}`;
  return new Echo(`127.0.0.1:${vallum.port}`, grpc.credentials.createSsl(certs.ca), {
    'grpc.default_authority': authority,
    'grpc.ssl_target_name_override': `${name}.localhost`,
  }) as unknown as EchoClient;
}

function unary(c: EchoClient, msg: Msg, options: { metadata?: grpc.Metadata; deadlineMs?: number } = {}) {
  return new Promise<{ reply?: Msg; error?: grpc.ServiceError }>((resolve) => {
    const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
    c.Say!(msg, options.metadata ?? new grpc.Metadata(), callOptions, (error: grpc.ServiceError | null, reply: Msg) => resolve(error ? { error } : { reply }));
  });
}

const bearer = async (groups: string[]) => {
  const token = await createApiTokenCodec(SECRET).sign({ kind: 'service-account', name: 'ci', groups, expiresAt: Date.now() + 3_600_000 });
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
};

test('a unary gRPC call goes through Vallum to an h2c upstream, with the deadline passed (grpc-timeout)', async (t) => {
  const c = client('grpc');
  t.after(() => c.close());
  const { reply, error } = await unary(c, { text: 'hello' }, { deadlineMs: 10_000 });
  assert.equal(error, undefined);
  assert.equal(reply?.text, 'said hello');
  const metadata = seen.metadata.at(-1)!;
  const deadline = seen.deadlines.at(-1)!;
  assert.ok(Number.isFinite(deadline) && deadline - Date.now() < 10_000, 'the deadline reaches the upstream (grpc-timeout)');
  assert.ok(metadata.get('x-request-id').length === 1, "Vallum's request id is sent");
});

test('server streaming, client streaming and bidirectional streaming calls, with trailers carried', async (t) => {
  const c = client('grpc');
  t.after(() => c.close());
  const counted = await new Promise<{ texts: string[]; trailer: string }>((resolve, reject) => {
    const texts: string[] = [];
    let trailer = '';
    const call = c.Count!({ text: 'n' }) as grpc.ClientReadableStream<Msg>;
    call.on('data', (m: Msg) => texts.push(m.text));
    call.on('status', (s: grpc.StatusObject) => {
      trailer = String(s.metadata.get('x-count')[0] ?? '');
    });
    call.on('end', () => setImmediate(() => resolve({ texts, trailer })));
    call.on('error', reject);
  });
  assert.deepEqual(counted.texts, ['n 1', 'n 2', 'n 3']);
  assert.equal(counted.trailer, '3', 'a trailer of the upstream reaches the client');

  const joined = await new Promise<Msg>((resolve, reject) => {
    const call = c.Join!((err: grpc.ServiceError | null, reply: Msg) => (err ? reject(err) : resolve(reply))) as grpc.ClientWritableStream<Msg>;
    for (const text of ['a', 'b', 'c']) call.write({ text });
    call.end();
  });
  assert.equal(joined.text, 'a+b+c');

  const chat = await new Promise<string[]>((resolve, reject) => {
    const replies: string[] = [];
    const call = c.Chat!() as grpc.ClientDuplexStream<Msg, Msg>;
    call.on('data', (m: Msg) => {
      replies.push(m.text);
      // Each message is sent after the previous reply: both directions stream at once.
      if (replies.length < 3) call.write({ text: `m${replies.length + 1}` });
      else call.end();
    });
    call.on('end', () => resolve(replies));
    call.on('error', reject);
    call.write({ text: 'm1' });
  });
  assert.deepEqual(chat, ['re: m1', 're: m2', 're: m3']);
});

test('an error status and its message reach the client (grpc-status, grpc-message)', async (t) => {
  const c = client('grpc');
  t.after(() => c.close());
  const { error } = await unary(c, { text: 'fail' });
  assert.equal(error?.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(error?.details, 'text must not be fail');
});

test('a deadline exceeded ends the call with DEADLINE_EXCEEDED, and the upstream sees the call cancelled', async (t) => {
  const c = client('grpc');
  t.after(() => c.close());
  const before = seen.cancelled;
  const started = Date.now();
  const { error } = await unary(c, { text: 'slow', wait_ms: 5_000 }, { deadlineMs: 300 });
  assert.equal(error?.code, grpc.status.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - started < 4_000);
  const deadline = Date.now() + 3_000;
  while (seen.cancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(seen.cancelled, before + 1, 'the upstream call was cancelled (stream reset), not left running');
});

test('the access check: no credentials and a denied token get an error at once, an allowed token works', async (t) => {
  const c = client('grpc-auth');
  t.after(() => c.close());
  const anonymous = await unary(c, { text: 'x' }, { deadlineMs: 5_000 });
  assert.ok(anonymous.error, 'an error, not a reply');
  assert.equal(anonymous.error.code, grpc.status.UNAUTHENTICATED, 'a 401 rather than the sign-in redirect, and not a hang');
  const denied = await unary(c, { text: 'x' }, { metadata: await bearer(['sales']), deadlineMs: 5_000 });
  assert.equal(denied.error?.code, grpc.status.PERMISSION_DENIED);
  const allowed = await unary(c, { text: 'x' }, { metadata: await bearer(['engineering']), deadlineMs: 5_000 });
  assert.equal(allowed.reply?.text, 'said x');
  const metadata = seen.metadata.at(-1)!;
  assert.deepEqual(metadata.get('x-vallum-claim-groups'), ['engineering'], 'identity headers reach the gRPC server');
  assert.deepEqual(metadata.get('authorization'), [], "Vallum's token does not");
});

test('an h2c upstream that is down: UNAVAILABLE at once (Vallum answers 502)', async (t) => {
  const c = client('grpc-down');
  t.after(() => c.close());
  const { error } = await unary(c, { text: 'x' }, { deadlineMs: 5_000 });
  assert.equal(error?.code, grpc.status.UNAVAILABLE);
});

test('curl --http2 reaches the gRPC upstream through Vallum (a gRPC frame by hand)', async () => {
  // One length-prefixed message: text = "curl" (field 1, wire type 2).
  const message = Buffer.from([0x0a, 0x04, ...Buffer.from('curl')]);
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
  const dir = mkdtempSync(join(tmpdir(), 'vallum-curl-'));
  writeFileSync(join(dir, 'body'), frame);
  const { stdout } = await promisify(execFile)('curl', [
    '-s',
    '--http2',
    '--cacert',
    certs.caFile,
    '--resolve',
    `grpc.localhost:${vallum.port}:127.0.0.1`,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    '--data-binary',
    `@${join(dir, 'body')}`,
    '-D',
    '-',
    '-o',
    join(dir, 'out'),
    `https://grpc.localhost:${vallum.port}/echo.Echo/Say`,
  ]);
  assert.match(stdout, /^HTTP\/2 200/);
  assert.match(stdout, /grpc-status: 0/, 'the status trailer is shown');
});
