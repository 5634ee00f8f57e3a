// Vallum as the auth server of another proxy: a real nginx with `auth_request` guards the demo app; Traefik/Caddy
// semantics (X-Forwarded-*) from a trusted peer; and the same headers from anyone else are not honoured.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { get, type IncomingHttpHeaders } from 'node:http';
import type { Browser } from 'playwright-core';
import { getFreePort, launchBrowser, signInAtDemoIdp } from '@vallum/testing';
import { startStack, stopChild, type Stack } from './harness.js';
import { hostGet, signInWithBrowser } from './identity-helpers.js';
import { startNginx } from './nginx.js';

/** nginx reaches Vallum from this address, the only one in forward_auth.trusted_proxies. */
const TRUSTED = '127.0.0.2';
let stack: Stack;
let browser: Browser;
let nginx: ChildProcess;
let nginxPort: number;
let fwdHost: string;

before(async () => {
  nginxPort = await getFreePort();
  fwdHost = `fwd.localhost:${nginxPort}`;
  let appUrl = '';
  stack = await startStack({
    mode: 'all-in-one',
    configExtra: (ctx) => {
      appUrl = ctx.appUrl;
      return `  - name: fwd
    from: http://${fwdHost}
    to: ${ctx.appUrl}
    policy:
      allow:
        or:
          - groups: { has: engineering }
forward_auth:
  trusted_proxies: [${TRUSTED}/32]
`;
    },
  });
  nginx = await startNginx(nginxPort, forwardAuthServer(nginxPort, `http://127.0.0.1:${stack.port}`, appUrl));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (nginx) await stopChild(nginx);
  await stack?.close();
});

function forwardAuthServer(port: number, vallum: string, app: string): string {
  return `  server {
    listen 127.0.0.1:${port};
    location /.vallum/ { proxy_pass ${vallum}; proxy_set_header Host $http_host; }
    location = /_vallum_verify {
      internal;
      proxy_bind ${TRUSTED};
      proxy_pass ${vallum}/.vallum/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }
    location / {
      auth_request /_vallum_verify;
      auth_request_set $vallum_email $upstream_http_x_vallum_claim_email;
      auth_request_set $vallum_jwt $upstream_http_x_vallum_jwt_assertion;
      auth_request_set $vallum_sign_in $upstream_http_x_vallum_sign_in;
      error_page 401 = @sign_in;
      proxy_set_header X-Vallum-Claim-Email $vallum_email;
      proxy_set_header X-Vallum-Jwt-Assertion $vallum_jwt;
      proxy_pass ${app};
    }
    location @sign_in { return 302 $vallum_sign_in; }
  }`;
}

test('nginx auth_request: a signed-in user reaches the app with identity headers; no session means sign-in', async () => {
  const anonymous = await hostGet(stack, fwdHost, '/api/whoami', {}, nginxPort);
  assert.equal(anonymous.status, 302);
  assert.match(String(anonymous.headers.location), /\/\.vallum\/sign_in\?redirect_uri=http%3A%2F%2Ffwd\.localhost/);

  const bob = await signInWithBrowser(browser, stack, 'bob@example.com', `http://${fwdHost}/api/whoami`);
  const seen = JSON.parse((await bob.page.locator('body').textContent()) ?? '{}') as { headers: Record<string, string> };
  assert.equal(seen.headers['x-vallum-claim-email'], 'bob@example.com');
  assert.ok(seen.headers['x-vallum-jwt-assertion']);
  await bob.context.close();
});

test('nginx auth_request: a user the policy refuses gets 403', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`http://${fwdHost}/api/whoami`);
  await signInAtDemoIdp(page, 'carol@example.com');
  await page.waitForURL((u) => u.host === fwdHost, { timeout: 15_000 });
  const cookie = (await context.cookies(`http://${fwdHost}/`)).find((c) => c.name === '_vallum')!.value;
  assert.equal((await hostGet(stack, fwdHost, '/api/whoami', { cookie: `_vallum=${cookie}` }, nginxPort)).status, 403);
  await context.close();
});

test('Traefik/Caddy semantics from a trusted peer: 302 to sign in, 200 with headers for a session', async () => {
  const verify = async (headers: Record<string, string>) => {
    // undici ignores a local address; node:http binds it.
    return new Promise<{ statusCode: number; headers: IncomingHttpHeaders; text: string }>((resolve, reject) => {
      get({ host: '127.0.0.1', port: stack.port, path: '/.vallum/verify', localAddress: TRUSTED, headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, text }));
      }).on('error', reject);
    });
  };
  const forwarded = { 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'http', 'x-forwarded-host': fwdHost, 'x-forwarded-uri': '/api/whoami?x=1' };
  const anonymous = await verify(forwarded);
  assert.equal(anonymous.statusCode, 302, anonymous.text);
  assert.match(String(anonymous.headers.location), /redirect_uri=http%3A%2F%2Ffwd\.localhost%3A\d+%2Fapi%2Fwhoami%3Fx%3D1/);
  const bob = await signInWithBrowser(browser, stack, 'bob@example.com', `http://${fwdHost}/`);
  const ok = await verify({ ...forwarded, cookie: `_vallum=${await bob.cookie(fwdHost)}` });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.headers['x-vallum-claim-email'], 'bob@example.com');
  await bob.context.close();
});

test('forwarded headers from a peer outside trusted_proxies are not honoured', async () => {
  const res = await hostGet(stack, `127.0.0.1:${stack.port}`, '/.vallum/verify', { 'x-forwarded-host': fwdHost, 'x-forwarded-uri': '/' });
  assert.equal(res.status, 403);
  assert.match(res.text, /trusted_proxies/);
});
