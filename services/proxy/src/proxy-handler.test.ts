// The data plane as production runs it: a node:http server whose handler is createProxyHandler's, over a ProxyState
// built from a config, forwarding to a real upstream on loopback. Only the authorize and cache services are fakes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { loadConfigText } from '@vallum/config';
import type { Decision } from '@vallum/policy';
import type { AuthorizeApi, AuthorizeRequest, CacheApi } from '@vallum/service-client';
import { createHotPathCounters, type Session } from '@vallum/session';
import { createRepeatedLog } from '@vallum/telemetry';
import { createKeyRing } from './assertion.js';
import { createConnectionWatch } from './connection-watch.js';
import { buildOwnPages } from './own-pages.js';
import { createProxyHandler, type RequestHandler } from './proxy-handler.js';
import { closeProxyState, createProxyState, type ProxyState } from './proxy-state.js';

const now = Date.now();
const alice: Session = { id: 'sid-a', sub: 'alice', email: 'alice@example.com', groups: ['admins'], claims: {}, createdAt: now, expiresAt: now + 3_600_000 };
const bob: Session = { ...alice, id: 'sid-b', sub: 'bob', email: 'bob@example.com', groups: ['staff'] };

let upstream: Server;
let proxy: Server;
let state: ProxyState;
let port: number;
const calls = { getSession: 0, check: 0, ownPages: 0 };
const logged: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
/** A TCP echo service for the tcp routes; `dialled` counts its connections. */
let echo: ReturnType<typeof createTcpServer>;
let dialled = 0;

/** A logger that keeps what it is told, for the assertions below. */
function capturingLogger(): FastifyBaseLogger {
  const at = (level: string) => (obj: unknown, msg?: string) => void logged.push({ level, msg: msg ?? '', obj: obj as Record<string, unknown> });
  const log = {
    level: 'info',
    isLevelEnabled: () => false,
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    debug: at('debug'),
    fatal: at('fatal'),
    trace: at('trace'),
    silent: () => {},
  };
  return { ...log, child: () => log } as unknown as FastifyBaseLogger;
}

before(async () => {
  upstream = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  echo = createTcpServer({ allowHalfOpen: true }, (socket) => {
    dialled++;
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const echoPort = (echo.address() as AddressInfo).port;
  const config = loadConfigText(
    `authenticate_service_url: https://auth.example.com
idp: { issuer: "https://idp.example.com", client_id: c, client_secret: s }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
forward_auth: { trusted_proxies: [127.0.0.1] }
routes:
  - from: http://app.example.com
    to: ${upstreamUrl}
    pass_identity_headers: true
    policy: { allow: { or: [ { groups: { has: admins } } ] } }
  - from: http://public.example.com
    to: ${upstreamUrl}
    allow_public_unauthenticated_access: true
  - from: http://api.example.com
    to: ${upstreamUrl}
    cors_allow_preflight: true
    set_request_headers: { x-route: api }
    remove_request_headers: [x-drop-me]
    policy: { allow: { or: [ { groups: { has: admins } } ] } }
  - from: http://down.example.com
    to: http://127.0.0.1:1
    allow_public_unauthenticated_access: true
  - from: tcp+http://db.example.com:5432
    to: tcp://127.0.0.1:${echoPort}
    policy: { allow: { or: [ { groups: { has: admins } } ] } }
  - from: tcp+http://idle.example.com:5432
    to: tcp://127.0.0.1:${echoPort}
    tcp_idle_timeout: 300ms
    allow_any_authenticated_user: true
  - from: tcp+http://dbdown.example.com:5432
    to: tcp://127.0.0.1:1
    allow_any_authenticated_user: true
`,
    'proxy-handler.test.yaml',
    { env: {} },
  );
  const stored = new Map([alice, bob].map((s) => [s.id, s]));
  const cache = {
    getSession: async (id: string) => {
      calls.getSession++;
      return stored.get(id) ?? null;
    },
    touchSession: async () => true,
    subscribe: () => () => {},
  } as unknown as CacheApi;
  const decide = (input: AuthorizeRequest): Decision => {
    const allow = input.identity?.groups.includes('admins') === true;
    return { allow, reasons: [{ code: allow ? 'ALLOW' : 'DENY', message: allow ? 'in admins' : 'not in admins' }] } as Decision;
  };
  const authorize: AuthorizeApi = { evaluate: async (input) => decide(input), peek: decide, readsHeaders: () => false };
  const built = await createProxyState(config, {
    authorize,
    cache,
    connections: createConnectionWatch(),
    keyRing: createKeyRing(),
    counters: createHotPathCounters(),
  });
  // The asynchronous check, counted: a warm request must not reach it.
  state = { ...built, access: { ...built.access, check: (r) => (calls.check++, built.access.check(r)) } };
  const ownPages: RequestHandler = (_req, res) => {
    calls.ownPages++;
    res.end('own page');
  };
  const log = capturingLogger();
  const handler = createProxyHandler(state, { ownPages, log, errors: createRepeatedLog(log) });
  proxy = createServer(handler.request);
  proxy.on('upgrade', handler.upgrade);
  proxy.on('connect', handler.upgrade);
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  port = (proxy.address() as AddressInfo).port;
});

after(async () => {
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await new Promise((resolve) => upstream.close(resolve));
  await new Promise((resolve) => echo.close(resolve));
  await closeProxyState(state);
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

function send(path: string, headers: Record<string, string>, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

const cookieFor = async (s: Session) => `${state.config.cookieName}=${await state.cookies.seal({ sid: s.id, expiresAt: s.expiresAt })}`;

test('match → forward: a public route reaches the upstream with the normalised path and a request id', async () => {
  const res = await send('/a/./b/../c?x=1', { host: 'public.example.com', 'x-request-id': 'req-1' });
  assert.equal(res.status, 200);
  const seen = JSON.parse(res.text) as { url: string; headers: IncomingHttpHeaders };
  assert.equal(seen.url, '/a/c?x=1');
  assert.equal(seen.headers['x-request-id'], 'req-1');
  assert.equal(res.headers['x-request-id'], 'req-1');
});

test('check → respond: no session on a private route is a redirect to sign in, and a stale cookie is cleared', async () => {
  const res = await send('/page?q=1', { host: 'app.example.com', cookie: `${state.config.cookieName}=forged` });
  assert.equal(res.status, 302);
  const location = new URL(res.headers.location!);
  assert.equal(location.origin + location.pathname, 'https://auth.example.com/.vallum/sign_in');
  assert.equal(location.searchParams.get('redirect_uri'), 'http://app.example.com/page?q=1');
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.match(String(res.headers['set-cookie']), new RegExp(`^${state.config.cookieName}=; Max-Age=0; .*HttpOnly`));
});

test('check → forward: a session the policy allows gets identity headers; warm, it never waits on the async check', async () => {
  const cookie = await cookieFor(alice);
  const first = await send('/', { host: 'app.example.com', cookie, 'x-vallum-claim-email': 'mallory@example.com' });
  assert.equal(first.status, 200);
  const seen = (JSON.parse(first.text) as { headers: IncomingHttpHeaders }).headers;
  assert.equal(seen['x-vallum-claim-email'], 'alice@example.com');
  assert.ok(seen['x-vallum-jwt-assertion']);
  assert.equal(seen.cookie, undefined, "Vallum's cookie is kept from the app");
  const before = { ...calls };
  for (let i = 0; i < 5; i++) assert.equal((await send('/', { host: 'app.example.com', cookie })).status, 200);
  assert.equal(calls.check, before.check);
  assert.equal(calls.getSession, before.getSession);
});

const PREFLIGHT_HEADERS = { origin: 'http://web.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-custom' };

test('preflight → forward: a CORS preflight on a cors_allow_preflight route reaches the upstream without a session or identity', async () => {
  const before = { ...calls };
  const res = await send(
    '/items',
    { host: 'api.example.com', ...PREFLIGHT_HEADERS, 'x-vallum-claim-email': 'mallory@example.com', 'x-vallum-jwt-assertion': 'forged', 'x-drop-me': '1' },
    'OPTIONS',
  );
  assert.equal(res.status, 200);
  const seen = JSON.parse(res.text) as { method: string; headers: IncomingHttpHeaders };
  assert.equal(seen.method, 'OPTIONS');
  assert.equal(seen.headers.origin, 'http://web.example.com');
  assert.equal(seen.headers['access-control-request-method'], 'PUT');
  assert.equal(seen.headers['x-vallum-claim-email'], undefined, 'client-sent identity headers are stripped');
  assert.equal(seen.headers['x-vallum-jwt-assertion'], undefined);
  assert.equal(seen.headers['x-route'], 'api', "the route's header rules apply");
  assert.equal(seen.headers['x-drop-me'], undefined);
  assert.deepEqual({ check: calls.check, getSession: calls.getSession }, { check: before.check, getSession: before.getSession });
});

test('preflight: anything but a full CORS preflight still needs a session on a cors_allow_preflight route', async () => {
  const signIn: Array<{ method: string; headers: Record<string, string> }> = [
    { method: 'OPTIONS', headers: { origin: 'http://web.example.com' } },
    { method: 'OPTIONS', headers: { 'access-control-request-method': 'PUT' } },
    { method: 'OPTIONS', headers: { origin: '', 'access-control-request-method': 'PUT' } },
    { method: 'OPTIONS', headers: {} },
    { method: 'PUT', headers: PREFLIGHT_HEADERS },
    { method: 'GET', headers: PREFLIGHT_HEADERS },
  ];
  for (const { method, headers } of signIn) {
    const res = await send('/items', { host: 'api.example.com', ...headers }, method);
    assert.equal(res.status, 302, `${method} ${JSON.stringify(headers)}`);
  }
  // A signed-in caller passes the policy as ever; bob is denied whatever the method.
  assert.equal((await send('/items', { host: 'api.example.com', cookie: await cookieFor(alice) }, 'PUT')).status, 200);
  assert.equal((await send('/items', { host: 'api.example.com', cookie: await cookieFor(bob), ...PREFLIGHT_HEADERS }, 'GET')).status, 403);
});

test('preflight: a route without cors_allow_preflight sends preflights to sign in (default off)', async () => {
  const res = await send('/items', { host: 'app.example.com', ...PREFLIGHT_HEADERS }, 'OPTIONS');
  assert.equal(res.status, 302);
  assert.equal(state.config.routes.find((r) => r.host === 'app.example.com')?.corsAllowPreflight, false);
});

test('check → respond: a session the policy denies gets the 403 page with the reasons', async () => {
  const res = await send('/', { host: 'app.example.com', cookie: await cookieFor(bob), 'x-request-id': 'req-403' });
  assert.equal(res.status, 403);
  assert.match(res.headers['content-type']!, /^text\/html/);
  assert.match(res.text, /bob@example\.com/);
  assert.match(res.text, /not in admins/);
  assert.match(res.text, /req-403/);
});

test('check → respond: a bearer token that is not valid gets 401 JSON from the error renderer, with the request id, whatever the client accepts', async () => {
  const res = await send('/', { host: 'app.example.com', authorization: 'Bearer not-a-token', accept: 'text/html', 'x-request-id': 'req-401' });
  assert.equal(res.status, 401);
  assert.equal(res.headers['www-authenticate'], 'Bearer realm="vallum", error="invalid_token"');
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers['x-request-id'], 'req-401');
  assert.match(res.headers['content-type']!, /^application\/json/);
  assert.deepEqual(JSON.parse(res.text), { code: 'VALLUM_UNAUTHORIZED', message: 'The bearer token is not valid, or has expired.', request_id: 'req-401' });
});

test('forward-auth answers the same 401 for a bad bearer token, through the same renderer', async () => {
  const pages = buildOwnPages(state, { logger: false });
  try {
    const res = await pages.inject({
      method: 'GET',
      url: '/.vallum/verify',
      remoteAddress: '127.0.0.1',
      headers: { host: 'app.example.com', 'x-forwarded-uri': '/', authorization: 'Bearer not-a-token', 'x-request-id': 'req-fa-401' },
    });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="vallum", error="invalid_token"');
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(res.json(), { code: 'VALLUM_UNAUTHORIZED', message: 'The bearer token is not valid, or has expired.', request_id: 'req-fa-401' });
  } finally {
    await pages.close();
  }
});

test("Vallum's own paths go to the own pages, on route hosts and unknown hosts alike, and are never forwarded", async () => {
  const before = calls.ownPages;
  for (const [host, path] of [
    ['app.example.com', '/.vallum/sign_out'],
    ['public.example.com', '/x/../.vallum/anything'],
    ['unknown.example.com', '/.vallum/healthz'],
    ['public.example.com', '/.well-known/vallum/jwks.json'],
  ] as const) {
    const res = await send(path, { host });
    assert.equal(res.text, 'own page', `${host}${path}`);
  }
  assert.equal(calls.ownPages, before + 4);
});

test('match → respond: an unknown host, or a path that reads as another route, is refused with a page', async () => {
  const unknown = await send('/', { host: 'unknown.example.com' });
  assert.equal(unknown.status, 404);
  assert.match(unknown.text, /No route is configured/);
  const fragment = await send('/a#b', { host: 'public.example.com' });
  assert.equal(fragment.status, 400);
});

test('framing → respond: two Host headers are refused and the connection closed', async () => {
  const answer = await new Promise<string>((resolve, reject) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: public.example.com\r\nHost: app.example.com\r\n\r\n'));
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  assert.match(answer, /^HTTP\/1\.1 400 /);
  assert.match(answer, /\r\nconnection: close\r\n/i);
});

test('forward → respond: an upstream that is down gets the error page, JSON when asked for', async () => {
  const res = await send('/', { host: 'down.example.com', accept: 'application/json' });
  assert.equal(res.status, 502);
  assert.equal((JSON.parse(res.text) as { code: string }).code, 'VALLUM_UPSTREAM_UNAVAILABLE');
  assert.ok(logged.some((l) => l.level === 'warn' && l.msg.startsWith('upstream of route ')));
});

test('upgrade: refused on a route without allow_websockets, before any access check', async () => {
  const before = calls.check;
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/',
      headers: { host: 'public.example.com', connection: 'Upgrade', upgrade: 'websocket' },
      agent: false,
    });
    req.on('response', (res) => resolve(res.statusCode ?? 0));
    req.on('upgrade', () => reject(new Error('upgraded')));
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 400);
  assert.equal(calls.check, before);
});

interface Tunnel {
  status: number;
  headers: IncomingHttpHeaders;
  socket: Socket;
  body: string;
}

function connectTo(authority: string, headers: Record<string, string> = {}): Promise<Tunnel> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'CONNECT', path: authority, headers: { host: authority, ...headers }, agent: false });
    req.on('connect', (res, socket, head) => {
      socket.on('error', () => {});
      if (res.statusCode === 200) return resolve({ status: 200, headers: res.headers, socket, body: head.toString() });
      let body = head.toString();
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (body += c));
      socket.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, socket, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

test('CONNECT: only a tcp route is ever dialled; an HTTP route host or an unknown authority gets 404 and no connection', async () => {
  const before = dialled;
  for (const authority of ['app.example.com:80', 'unknown.example.com:5432', 'db.example.com:5433', '127.0.0.1:22']) {
    const t = await connectTo(authority, { cookie: await cookieFor(alice) });
    assert.equal(t.status, 404, authority);
    assert.match(t.body, /No tcp route/);
  }
  assert.equal(dialled, before);
  const http = await send('/', { host: 'db.example.com:5432' });
  assert.equal(http.status, 404, 'a tcp route never answers HTTP requests');
});

test('CONNECT check: no credential is 407 with a Bearer challenge, an invalid token 407, a denied user 403; nothing dialled', async () => {
  const before = dialled;
  const none = await connectTo('db.example.com:5432');
  assert.equal(none.status, 407);
  assert.equal(none.headers['proxy-authenticate'], 'Bearer realm="vallum"');
  assert.match(none.body, /Sign in first/);
  const bad = await connectTo('db.example.com:5432', { 'proxy-authorization': 'Bearer not-a-token' });
  assert.equal(bad.status, 407);
  assert.match(bad.body, /not valid/);
  const denied = await connectTo('db.example.com:5432', { cookie: await cookieFor(bob) });
  assert.equal(denied.status, 403);
  assert.match(denied.body, /Access denied/);
  assert.equal(dialled, before);
  const line = logged.find((l) => l.msg === 'tunnel refused' && l.obj.status === 403);
  assert.equal(line?.obj.user, 'bob@example.com');
});

test('CONNECT → tunnel: an allowed session gets 200 and bytes both ways; a half-close is passed on; one access line with byte counts', async () => {
  const t = await connectTo('DB.example.com:5432', { cookie: await cookieFor(alice) });
  assert.equal(t.status, 200);
  let echoed = '';
  t.socket.setEncoding('utf8');
  t.socket.on('data', (c: string) => (echoed += c));
  const ended = new Promise<void>((resolve) => t.socket.once('end', () => resolve()));
  t.socket.write('ping ');
  t.socket.end('pong');
  // The echo service sees our end, ends its side once it has echoed everything: the reply still arrives after our FIN.
  await ended;
  assert.equal(echoed, 'ping pong');
  await closed(t.socket);
  await new Promise((r) => setTimeout(r, 50));
  const line = logged.find((l) => l.msg === 'tunnel closed' && l.obj.route === '4');
  assert.ok(line, 'an access line per tunnel');
  assert.equal(line.obj.user, 'alice@example.com');
  assert.equal(line.obj.bytes_up, 9);
  assert.equal(line.obj.bytes_down, 9);
  assert.equal(typeof line.obj.duration_ms, 'number');
  assert.ok(!JSON.stringify(line.obj).includes(state.config.cookieName), 'no credential in the access line');
});

test('CONNECT → tunnel: nothing either way for tcp_idle_timeout closes both sides', async () => {
  const t = await connectTo('idle.example.com:5432', { cookie: await cookieFor(alice) });
  assert.equal(t.status, 200);
  const started = Date.now();
  await closed(t.socket);
  assert.ok(Date.now() - started < 5_000);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(logged.some((l) => l.msg === 'tunnel closed' && l.obj.closed === 'idle'));
});

test('CONNECT → respond: a tcp upstream that is down is a 502', async () => {
  const t = await connectTo('dbdown.example.com:5432', { cookie: await cookieFor(alice) });
  assert.equal(t.status, 502);
  assert.match(t.body, /refused the connection or is down/);
});
