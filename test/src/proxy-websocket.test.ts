// WebSockets on routes with allow_websockets: the upgrade is authenticated and authorised like any request (401/403
// before anything reaches the app), then bytes flow both ways, closes propagate, and a config reload leaves open
// sockets alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Browser } from 'playwright-core';
import { loadVallumConfigText } from '@vallum/cmd';
import { launchBrowser, signInAtDemoIdp } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { publicRoute, startProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-fixture.js';

let upstream: TestUpstream;
let stack: Stack;
let proxy: TestProxy;
let browser: Browser;
const upgrades: IncomingMessage[] = [];
const upstreamSockets: Socket[] = [];

before(async () => {
  upstream = await startUpstream((_req, res) => res.end('<html><body>ws app</body></html>'));
  upstream.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    upgrades.push(req);
    if (req.url === '/refuse') return void socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno');
    upstreamSockets.push(socket);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Upstream: yes\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()));
    socket.on('end', () => socket.end());
  });
  stack = await startStack({
    mode: 'all-in-one',
    extraRoutes: (port) => `  - name: ws
    from: http://ws.localhost:${port}
    to: ${upstream.url}
    allow_websockets: true
    policy:
      allow:
        or:
          - groups: { has: admins }
`,
  });
  proxy = await startProxy(
    (port) =>
      publicRoute('pub.localhost', port, upstream.url, 'allow_websockets: true') +
      publicRoute('nows.localhost', port, upstream.url) +
      publicRoute('named.localhost', port, upstream.url.replace('127.0.0.1', 'localhost'), 'allow_websockets: true'),
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await proxy?.close();
  await stack?.close();
  await upstream?.close();
});

type Outcome = { kind: 'upgraded'; socket: Socket; res: IncomingMessage } | { kind: 'refused'; status: number; body: string };

function upgrade(port: number, host: string, path = '/socket', headers: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      headers: {
        host: `${host}:${port}`,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => resolve({ kind: 'upgraded', socket, res }));
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ kind: 'refused', status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const echo = (socket: Socket, text: string) =>
  new Promise<string>((resolve) => {
    socket.once('data', (d: Buffer) => resolve(d.toString()));
    socket.write(text);
  });

async function sessionCookie(email: string): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const url = `http://ws.localhost:${stack.port}/`;
    await page.goto(url);
    await signInAtDemoIdp(page, email);
    await page.waitForURL((u) => u.href.startsWith(url), { timeout: 15_000 });
    const c = (await context.cookies(url)).find((x) => x.name === '_vallum');
    assert.ok(c, `no session cookie for ${email}`);
    return `_vallum=${c.value}`;
  } finally {
    await context.close();
  }
}

test('an upgrade on a protected route is refused with 401 without a session and 403 without permission; nothing reaches the app', async () => {
  const before = upgrades.length;
  const anonymous = await upgrade(stack.port, 'ws.localhost');
  assert.equal(anonymous.kind === 'refused' && anonymous.status, 401);
  const bob = await upgrade(stack.port, 'ws.localhost', '/socket', { cookie: await sessionCookie('bob@example.com') });
  assert.equal(bob.kind === 'refused' && bob.status, 403);
  assert.equal(upgrades.length, before);
});

test('an authorised upgrade carries the identity headers (never client-sent ones) and bytes flow both ways', async () => {
  const alice = await upgrade(stack.port, 'ws.localhost', '/socket?x=1', {
    cookie: await sessionCookie('alice@example.com'),
    'x-vallum-claim-email': 'forged@example.com',
  });
  assert.equal(alice.kind, 'upgraded');
  if (alice.kind !== 'upgraded') return;
  assert.equal(alice.res.headers['x-upstream'], 'yes');
  const seen = upgrades.at(-1)!;
  assert.equal(seen.url, '/socket?x=1');
  assert.equal(seen.headers['x-vallum-claim-email'], 'alice@example.com');
  assert.ok(seen.headers['x-vallum-jwt-assertion']);
  assert.ok(!(seen.headers.cookie ?? '').includes('_vallum='));
  assert.equal(await echo(alice.socket, 'hello'), 'HELLO');
  alice.socket.destroy();
});

test('an upstream named by host name is resolved (and the answer kept for upstream_dns_ttl) for upgrades too', async () => {
  for (let i = 0; i < 2; i++) {
    const named = await upgrade(proxy.port, 'named.localhost');
    assert.equal(named.kind, 'upgraded');
    if (named.kind !== 'upgraded') return;
    assert.equal(await echo(named.socket, `hi ${i}`), `HI ${i}`);
    named.socket.destroy();
  }
});

test('routes without allow_websockets refuse upgrades; an upstream refusal is relayed', async () => {
  const no = await upgrade(proxy.port, 'nows.localhost');
  assert.equal(no.kind === 'refused' && no.status, 400);
  const refused = await upgrade(proxy.port, 'pub.localhost', '/refuse');
  assert.deepEqual(refused.kind === 'refused' && [refused.status, refused.body], [403, 'no']);
});

test('closes propagate both ways, and an open socket survives a config reload', async () => {
  const first = await upgrade(proxy.port, 'pub.localhost');
  assert.equal(first.kind, 'upgraded');
  if (first.kind !== 'upgraded') return;
  const upstreamSide = upstreamSockets.at(-1)!;
  // Client closes → the upstream sees it.
  const upstreamClosed = new Promise<void>((r) => upstreamSide.once('close', () => r()));
  first.socket.destroy();
  await upstreamClosed;

  const second = await upgrade(proxy.port, 'pub.localhost');
  assert.equal(second.kind, 'upgraded');
  if (second.kind !== 'upgraded') return;
  await proxy.vallum.reload(
    loadVallumConfigText(proxy.configText(publicRoute('pub.localhost', proxy.port, upstream.url, 'allow_websockets: true\nname: renamed')), 'vallum.yaml', {
      env: {},
    }),
  );
  // The replaced app is closed after its grace period; the socket must outlive that.
  await new Promise((r) => setTimeout(r, 5_500));
  assert.equal(await echo(second.socket, 'still here'), 'STILL HERE');
  const gone = await upgrade(proxy.port, 'nows.localhost');
  assert.equal(gone.kind === 'refused' && gone.status, 404, 'the new config is in force for new upgrades');
  // Upstream closes → the client sees it.
  const clientClosed = new Promise<void>((r) => second.socket.once('close', () => r()));
  upstreamSockets.at(-1)!.destroy();
  await clientClosed;
});
