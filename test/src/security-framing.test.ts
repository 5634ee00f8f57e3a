// Request framing and forwarded headers through the real proxy, byte for byte over a raw socket: duplicate Host,
// absolute-form targets, forwarding headers from an untrusted client, request trailers, forward-auth fed mixed
// header families by a trusted proxy, and health-checker User-Agents.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchBrowser, startHttpUpstream, type HttpUpstream } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { signInWithBrowser } from './identity-helpers.js';

/** trusted_proxies and forward_auth.trusted_proxies hold only this address; a socket bound to it plays nginx. */
const TRUSTED = '127.0.0.2';

interface Seen {
  url: string;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | undefined>;
  rawTrailers: string[];
}

let stack: Stack;
let upstream: HttpUpstream;
let echoHost: string;
let browser: Browser;

before(async () => {
  upstream = await startHttpUpstream((req, res) => {
    req.resume();
    req.on('end', () => {
      const seen: Seen = { url: req.url ?? '', headers: req.headers, trailers: req.trailers, rawTrailers: req.rawTrailers };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(seen));
    });
  });
  upstream.server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n'));
  stack = await startStack({
    mode: 'all-in-one',
    extraRoutes: (port) => `  - name: echo
    from: http://echo.localhost:${port}
    to: ${upstream.url}
    allow_public_unauthenticated_access: true
    allow_websockets: true
  - name: tls-only
    from: http://tls-only.localhost:${port}
    to: ${upstream.url}
    policy:
      allow:
        or:
          - header/x-forwarded-proto: https
`,
    configExtra: `trusted_proxies: [${TRUSTED}/32]
forward_auth:
  trusted_proxies: [${TRUSTED}/32]
`,
  });
  echoHost = `echo.localhost:${stack.port}`;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.close();
  await upstream?.close();
});

interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** Writes `text` as is on a new connection and reads until the server closes it (bounded). */
function rawExchange(text: string, localAddress?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: stack.port, localAddress });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within 5 s: ${Buffer.concat(chunks).toString('latin1')}`));
    }, 5000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      const head = end === -1 ? all : all.slice(0, end);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(all)?.[1] ?? 0), head, body: end === -1 ? '' : all.slice(end + 4) });
    });
    socket.write(text);
  });
}

/** The JSON the echo upstream answered, out of a (possibly chunked) raw response body. */
function echoed(res: RawResponse): Seen {
  assert.equal(res.status, 200, res.head + res.body);
  const body = /transfer-encoding: chunked/i.test(res.head) ? dechunk(res.body) : res.body;
  return JSON.parse(body) as Seen;
}

function dechunk(body: string): string {
  let out = '';
  for (let at = 0; ; ) {
    const eol = body.indexOf('\r\n', at);
    const size = parseInt(body.slice(at, eol), 16);
    if (!size) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

test('a request with two Host headers is refused with 400, not routed by the first', async () => {
  const res = await rawExchange(
    `GET /api/whoami HTTP/1.1\r\nHost: public.localhost:${stack.port}\r\nHost: app.localhost:${stack.port}\r\nConnection: close\r\n\r\n`,
  );
  assert.equal(res.status, 400, res.head);
  assert.match(res.body, /more than one Host/);
  const upgrade = await rawExchange(
    `GET /ws HTTP/1.1\r\nHost: ${echoHost}\r\nHost: app.localhost:${stack.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
  );
  assert.equal(upgrade.status, 400, upgrade.head);
  assert.match(upgrade.body, /more than one Host/);
});

test('an absolute-form target must agree with Host: refused when it names another host, served when it agrees', async () => {
  const other = await rawExchange(`GET http://app.localhost:${stack.port}/api/whoami HTTP/1.1\r\nHost: ${echoHost}\r\nConnection: close\r\n\r\n`);
  assert.equal(other.status, 400, other.head);
  assert.match(other.body, /does not match the Host/);
  const same = echoed(await rawExchange(`GET http://${echoHost}/x?y=1 HTTP/1.1\r\nHost: ${echoHost}\r\nConnection: close\r\n\r\n`));
  assert.equal(same.url, '/x?y=1');
});

test('Forwarded, X-Real-IP, X-Forwarded-Port/-Prefix/-Host/-Proto and `_` spellings from an untrusted client never reach the app', async () => {
  const spoof = [
    'Forwarded: for=6.6.6.6;host=admin.example;proto=https',
    'X-Real-IP: 6.6.6.6',
    'X-Forwarded-Port: 443',
    'X-Forwarded-Prefix: /admin',
    'X-Forwarded-Host: admin.example',
    'X-Forwarded-Proto: https',
    'X-Forwarded-For: 6.6.6.6',
    'X_Forwarded_For: 6.6.6.6',
    'X_Real_IP: 6.6.6.6',
    'X-Original-URL: /admin',
  ];
  const seen = echoed(await rawExchange(`GET /x HTTP/1.1\r\nHost: ${echoHost}\r\n${spoof.join('\r\n')}\r\nConnection: close\r\n\r\n`));
  const h = seen.headers;
  for (const name of ['forwarded', 'x-real-ip', 'x-forwarded-port', 'x-forwarded-prefix', 'x_forwarded_for', 'x_real_ip', 'x-original-url']) {
    assert.equal(h[name], undefined, `${name} reached the app`);
  }
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
  assert.equal(h['x-forwarded-host'], echoHost);
  assert.equal(h['x-forwarded-proto'], 'http');
});

test('from a trusted proxy, Forwarded, X-Real-IP and X-Forwarded-* are passed on as sent, but never in a `_` spelling', async () => {
  const sent = [
    'Forwarded: for=198.51.100.7;proto=https',
    'X-Real-IP: 198.51.100.7',
    'X-Forwarded-Port: 443',
    'X-Forwarded-Prefix: /app',
    'X-Forwarded-Host: app.example',
    'X-Forwarded-Proto: https',
    'X-Forwarded-For: 198.51.100.7',
    'X_Real_IP: 6.6.6.6',
  ];
  const h = echoed(await rawExchange(`GET /x HTTP/1.1\r\nHost: ${echoHost}\r\n${sent.join('\r\n')}\r\nConnection: close\r\n\r\n`, TRUSTED)).headers;
  assert.equal(h.forwarded, 'for=198.51.100.7;proto=https');
  assert.equal(h['x-real-ip'], '198.51.100.7');
  assert.equal(h['x-forwarded-port'], '443');
  assert.equal(h['x-forwarded-prefix'], '/app');
  assert.equal(h['x-forwarded-host'], 'app.example');
  assert.equal(h['x-forwarded-proto'], 'https');
  assert.equal(h['x-forwarded-for'], `198.51.100.7, ${TRUSTED}`);
  assert.equal(h.x_real_ip, undefined);
});

test('a policy reading X-Forwarded-Proto is not satisfied by a client that sends it itself, only by a trusted proxy', async () => {
  const host = `tls-only.localhost:${stack.port}`;
  const alice = await signInWithBrowser(browser, stack, 'alice@example.com', `http://${host}/`);
  const cookie = await alice.cookie(host);
  await alice.context.close();
  const ask = `GET /x HTTP/1.1\r\nHost: ${host}\r\nCookie: _vallum=${cookie}\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n`;
  const res = await rawExchange(ask);
  assert.equal(res.status, 403, res.head);
  assert.equal((await rawExchange(ask, TRUSTED)).status, 200, 'a trusted proxy is believed');
});

test('request trailers cannot carry identity, hop-by-hop or forwarding fields to the app', async () => {
  const body = 'hello';
  const res = await rawExchange(
    `POST /upload HTTP/1.1\r\nHost: ${echoHost}\r\nTransfer-Encoding: chunked\r\n` +
      'Trailer: X-Checksum, X-Vallum-Claim-Email, X_Vallum_Claim_Groups, X-Forwarded-For, Connection\r\n' +
      `Connection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n` +
      'X-Checksum: sum-42\r\nX-Vallum-Claim-Email: admin@example.com\r\nX_Vallum_Claim_Groups: admins\r\nx-vallum-jwt-assertion: forged\r\n' +
      'X-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nAuthorization: Bearer forged\r\n\r\n',
  );
  const seen = echoed(res);
  assert.deepEqual(seen.trailers, { 'x-checksum': 'sum-42' });
  assert.equal(seen.headers.trailer, 'X-Checksum');
});

/** /.vallum/verify as nginx's auth_request calls it from the trusted address, with extra headers the client sent. */
const verify = (host: string, extra: string[]) =>
  rawExchange(`GET /.vallum/verify HTTP/1.1\r\nHost: ${host}\r\n${extra.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`, TRUSTED);

test('forward-auth: X-Forwarded-* a client slips past nginx next to X-Original-* are refused (CVE-2026-40575)', async () => {
  const app = `app.localhost:${stack.port}`;
  const pub = `public.localhost:${stack.port}`;
  // nginx checks app (protected); the client's X-Forwarded-Host would have Vallum check the public route instead.
  const hostSwap = await verify(app, ['X-Original-URI: /api/whoami', 'X-Original-Method: GET', `X-Forwarded-Host: ${pub}`]);
  assert.equal(hostSwap.status, 400, hostSwap.head + hostSwap.body);
  assert.match(hostSwap.body, /X-Forwarded-Host/);
  const uriSwap = await verify(app, [
    'X-Original-URI: /api/whoami',
    'X-Original-Method: DELETE',
    `X-Forwarded-Host: ${app}`,
    'X-Forwarded-Uri: /',
    'X-Forwarded-Method: GET',
  ]);
  assert.equal(uriSwap.status, 400, uriSwap.head + uriSwap.body);
  const twice = await verify(pub, ['X-Forwarded-Uri: /', 'X-Forwarded-Uri: /api/whoami', `X-Forwarded-Host: ${pub}`]);
  assert.equal(twice.status, 400, twice.head + twice.body);
  // Honest nginx and Traefik requests still get their answers.
  assert.equal((await verify(pub, ['X-Original-URI: /', 'X-Original-Method: GET'])).status, 200);
  assert.equal((await verify(app, ['X-Original-URI: /', 'X-Original-Method: GET'])).status, 401);
  assert.equal((await verify('vallum', ['X-Forwarded-Uri: /', 'X-Forwarded-Method: GET', `X-Forwarded-Host: ${pub}`, 'X-Forwarded-Proto: http'])).status, 200);
  // An untrusted peer is refused whatever it sends.
  const untrusted = await rawExchange(`GET /.vallum/verify HTTP/1.1\r\nHost: ${pub}\r\nX-Original-URI: /\r\nConnection: close\r\n\r\n`);
  assert.equal(untrusted.status, 403);
  assert.match(untrusted.body, /trusted_proxies/);
});

test('a health-checker User-Agent grants nothing: protected paths still ask for sign-in (CVE-2026-34457)', async () => {
  for (const ua of ['kube-probe/1.30', 'ELB-HealthChecker/2.0', 'GoogleHC/1.0']) {
    for (const path of ['/', '/healthz', '/health', '/api/whoami']) {
      const res = await rawExchange(`GET ${path} HTTP/1.1\r\nHost: app.localhost:${stack.port}\r\nUser-Agent: ${ua}\r\nConnection: close\r\n\r\n`);
      assert.equal(res.status, 302, `${ua} ${path}: ${res.head}`);
      assert.match(res.head, /\nlocation: [^\r]*\/\.vallum\/sign_in/i);
      assert.doesNotMatch(res.body, /Vallum demo app/);
    }
    const health = await rawExchange(`GET /.vallum/healthz HTTP/1.1\r\nHost: app.localhost:${stack.port}\r\nUser-Agent: ${ua}\r\nConnection: close\r\n\r\n`);
    assert.equal(health.status, 200);
    assert.doesNotMatch(health.body, /Vallum demo app|whoami|x-vallum/i);
  }
});
