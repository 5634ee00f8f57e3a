// An open WebSocket obeys revocation: when its session is signed out, the proxy closes it within seconds
// (Pomerium never re-checks an upgraded connection; users filed that as a bug).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { request } from 'undici';
import type { Browser } from 'playwright-core';
import { launchBrowser, signInAtDemoIdp } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { startUpstream, type TestUpstream } from './proxy-fixture.js';

let upstream: TestUpstream;
let stack: Stack;
let browser: Browser;
const upstreamSockets = new Set<Socket>();

before(async () => {
  upstream = await startUpstream((_req, res) => res.end('ws app'));
  upstream.server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
    upstreamSockets.add(socket);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d));
    socket.on('error', () => {});
  });
  stack = await startStack({
    mode: 'all-in-one',
    watch: true,
    extraRoutes: (port) => `  - name: ws
    from: http://ws.localhost:${port}
    to: ${upstream.url}
    allow_websockets: true
    allow_any_authenticated_user: true
`,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.close();
  for (const socket of upstreamSockets) socket.destroy();
  await upstream?.close();
});

async function sessionCookie(): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const url = `http://ws.localhost:${stack.port}/`;
    await page.goto(url);
    await signInAtDemoIdp(page, 'alice@example.com');
    await page.waitForURL((u) => u.href.startsWith(url), { timeout: 15_000 });
    const c = (await context.cookies(url)).find((x) => x.name === '_vallum');
    assert.ok(c);
    return `_vallum=${c.value}`;
  } finally {
    await context.close();
  }
}

function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function openSocket(cookie: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port: stack.port,
      path: '/socket',
      agent: false,
      headers: {
        host: `ws.localhost:${stack.port}`,
        connection: 'Upgrade',
        upgrade: 'websocket',
        cookie,
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', (_res, socket) => resolve(socket));
    req.on('response', (res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

test("signing out closes the session's open WebSocket within a few seconds; another session's stays open", async () => {
  const [alice, other] = [await sessionCookie(), await sessionCookie()];
  const socket = await openSocket(alice);
  const untouched = await openSocket(other);
  socket.on('error', () => {});
  untouched.on('error', () => {});
  const closed = new Promise<number>((resolve) => {
    const start = Date.now();
    socket.once('close', () => resolve(Date.now() - start));
  });

  const signOut = await request(`${stack.proxyUrl}/.vallum/sign_out`, { headers: { host: `ws.localhost:${stack.port}`, cookie: alice } });
  await signOut.body.dump();
  assert.equal(signOut.statusCode, 302);
  const next = new URL(String(signOut.headers.location));
  const ended = await request(`${stack.proxyUrl}${next.pathname}${next.search}`, { headers: { host: next.host } });
  await ended.body.dump();
  assert.equal(ended.statusCode, 302);

  const took = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 8000))]);
  assert.ok(took >= 0 && took < 8000, `the signed-out socket was still open after 8 s`);
  assert.equal(untouched.destroyed, false, 'a socket of another session is left alone');
  const echoed = await new Promise<string>((resolve) => {
    untouched.once('data', (d: Buffer) => resolve(d.toString()));
    untouched.write('ping');
  });
  assert.equal(echoed, 'ping');
  untouched.destroy();
});

test('a config reload whose policy now denies closes the open WebSocket, and new upgrades are refused', async () => {
  const cookie = await sessionCookie();
  const socket = await openSocket(cookie);
  socket.on('error', () => {});
  const text = readFileSync(stack.configFile, 'utf8');
  const denied = text.replace(
    /(name: ws[\s\S]*?)allow_any_authenticated_user: true/,
    '$1policy:\n      allow:\n        or:\n          - groups: { has: nobody }',
  );
  assert.notEqual(denied, text, 'the test must change the ws route');
  writeFileSync(stack.configFile, denied);
  assert.ok(await closedWithin(socket, 8000), 'the socket was still open 8 s after the policy stopped allowing it');
  await assert.rejects(openSocket(cookie), /upgrade refused: 403/);
});
