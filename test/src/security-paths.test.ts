// One path for the policy and the back end (issue 17, point 2), through the real proxy with a real IdP and an
// upstream that records what it gets: a path a back end may read otherwise (encoded slash or backslash, backslash,
// `;params`) is matched and authorised under every reading; readings that pick different routes are refused; a
// query, fragment or %23 never moves a protected path onto a public prefix. Ordinary encoded slashes still pass as is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchBrowser, startEchoUpstream, type EchoUpstream } from '@vallum/testing';
import { startStack, type Stack } from './harness.js';
import { signInWithBrowser } from './identity-helpers.js';

let stack: Stack;
let upstream: EchoUpstream;
let browser: Browser;
let cookie: string;
let host: string;
let strictHost: string;

before(async () => {
  upstream = await startEchoUpstream();
  stack = await startStack({
    mode: 'all-in-one',
    configExtra: (ctx) => {
      host = `paths.localhost:${ctx.port}`;
      strictHost = `strict.localhost:${ctx.port}`;
      return `  - name: paths-public
    from: http://${host}
    prefix: /public
    to: ${upstream.url}
    allow_public_unauthenticated_access: true
    allow_websockets: true
  - name: paths-assets
    from: http://${host}
    regex: '.*\\.css'
    to: ${upstream.url}
    allow_public_unauthenticated_access: true
  - name: paths-private
    from: http://${host}
    to: ${upstream.url}
    policy:
      allow:
        or:
          - domain: example.com
      deny:
        or:
          - http_path: /admin
          - http_path: { starts_with: /admin/ }
  - name: paths-strict
    from: http://${strictHost}
    to: ${upstream.url}
    allow_public_unauthenticated_access: true
    reject_ambiguous_paths: true
forward_auth:
  trusted_proxies: [127.0.0.1/32]
`;
    },
  });
  browser = await launchBrowser();
  const signedIn = await signInWithBrowser(browser, stack, 'alice@example.com', `http://${host}/docs`);
  cookie = `_vallum=${await signedIn.cookie()}`;
});

after(async () => {
  await browser?.close();
  await stack?.close();
  await upstream?.close();
});

/** The request target goes on the wire exactly as written (no client-side URL normalisation). */
function raw(path: string, headers: Record<string, string> = {}, onHost = host): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: stack.port, path, headers: { host: onHost, [PROBE]: '1', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Marks this file's own requests: the signed-in browser may still fetch (a favicon) while the tests run. */
const PROBE = 'x-paths-probe';
const probesSeen = () => upstream.requests.filter((r) => r.headers[PROBE] !== undefined).length;

/** Asks for `path` and asserts the upstream never saw it. */
async function refusedBeforeUpstream(path: string, headers: Record<string, string> = {}, onHost = host) {
  const before = probesSeen();
  const res = await raw(path, headers, onHost);
  assert.equal(probesSeen(), before, `${path} reached the upstream`);
  return res;
}

const isSignIn = (res: { status: number; location: string | undefined }) => res.status === 302 && /\/\.vallum\/sign_in\?/.test(res.location ?? '');

test('regression: a dot segment behind %2F, %5C, a backslash or ";" no longer leaves a public prefix without sign-in', async () => {
  const ok = await raw('/public/page');
  assert.equal(ok.status, 200);
  for (const path of [
    '/public/..%2fprivate',
    '/public%2f..%2fprivate',
    '/public/..%2Fprivate',
    '/public/..%5cprivate',
    '/public/..;/private',
    '/public/..\\private',
    '/public/x/..%2f..%2fadmin',
  ]) {
    const res = await refusedBeforeUpstream(path);
    assert.equal(res.status, 400, path);
    assert.match(res.body, /reads as a different path once decoded/, path);
  }
});

test('regression: the same paths are refused for a signed-in user too, and for an upgrade', async () => {
  assert.equal((await refusedBeforeUpstream('/public/..%2fprivate', { cookie })).status, 400);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(stack.port, '127.0.0.1', () =>
      socket.write(
        `GET /public/..%2fprivate HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      ),
    );
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy());
  });
  assert.match(answer, /^HTTP\/1\.1 400 /);
});

test('regression: "/admin;jsessionid=1", "/;x/admin" and "/x/..%2fadmin" are denied like /admin (every reading must be allowed)', async () => {
  assert.equal((await raw('/docs', { cookie })).status, 200);
  for (const path of ['/admin', '/admin;jsessionid=1', '/;x/admin', '/x/..%2fadmin', '/x/..\\admin', '/x/..;/admin', '/admin%2Fusers', '/admin%3Bx']) {
    const res = await refusedBeforeUpstream(path, { cookie });
    assert.equal(res.status, 403, path);
    assert.match(res.body, /path (under \/admin\/|\/admin) is not allowed/, path);
  }
});

test('regression: /.vallum/verify matches and authorises by the same rule', async () => {
  const verify = (uri: string, headers: Record<string, string> = {}) =>
    raw('/.vallum/verify', { 'x-forwarded-host': host, 'x-forwarded-uri': uri, 'x-forwarded-method': 'GET', ...headers }, `verify.localhost:${stack.port}`);
  assert.equal((await verify('/public/page')).status, 200);
  assert.equal((await verify('/public/..%2fprivate')).status, 400);
  assert.equal((await verify('/public/..;/private')).status, 400);
  assert.equal((await verify('/docs', { cookie })).status, 200);
  assert.equal((await verify('/;x/admin', { cookie })).status, 403);
  assert.equal((await verify('/admin;jsessionid=1', { cookie })).status, 403);
});

test('regression: a fragment (raw "#"), a query or %23 never moves a protected path onto a public route', async () => {
  // `.*\.css` is public: without the refusal `/private#.css` was forwarded without sign-in, and a back end that
  // parses the target as a URL serves `/private`.
  assert.equal((await raw('/site.css')).status, 200);
  assert.equal((await refusedBeforeUpstream('/private#.css')).status, 400);
  assert.equal((await refusedBeforeUpstream('/private#/public')).status, 400);
  // Nor can a query or an encoded `#`: only the path is matched, and %23 stays an escape.
  assert.ok(isSignIn(await refusedBeforeUpstream('/private?/public')));
  assert.ok(isSignIn(await refusedBeforeUpstream('/private?x=.css')));
  assert.ok(isSignIn(await refusedBeforeUpstream('/private%23/public')));
});

test('an ordinary encoded slash on an allowed route still reaches the upstream unchanged', async () => {
  const pub = await raw('/public/files/a%2Fb?q=%2F');
  assert.equal(pub.status, 200);
  assert.equal(JSON.parse(pub.body).url, '/public/files/a%2Fb?q=%2F');
  const priv = await raw('/files/a%2fb;v=1', { cookie });
  assert.equal(priv.status, 200);
  assert.equal(JSON.parse(priv.body).url, '/files/a%2Fb;v=1');
});

test('reject_ambiguous_paths answers 400 to every path a back end could read otherwise', async () => {
  const ok = await raw('/a/b%20c?q=%2F;x', {}, strictHost);
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.body).url, '/a/b%20c?q=%2F;x');
  for (const path of ['/a%2Fb', '/a%2fb', '/a%5Cb', '/a%5cb', '/a\\b', '/a;b', '/;x/a']) {
    const res = await refusedBeforeUpstream(path, {}, strictHost);
    assert.equal(res.status, 400, path);
    assert.match(res.body, /does not accept encoded slashes/, path);
  }
});
