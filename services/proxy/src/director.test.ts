import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './director.js';
import { upstreamPath } from './upstream-path.js';

const base = { cookieName: '_vallum', clientIp: '127.0.0.9', proto: 'http' as const, host: 'app.localhost:8000', requestId: 'rid-1' };

test('client-supplied identity headers are removed in every spelling, and the verified ones added', () => {
  const out = upstreamRequestHeaders({
    ...base,
    headers: { 'x-vallum-claim-email': 'evil', x_vallum_claim_email: 'evil', 'x-vallum-jwt-assertion': 'forged', accept: 'text/html' },
    identity: { email: 'alice@example.com', groups: ['admins', 'eng'], assertion: 'jwt' },
  });
  assert.equal(out['x-vallum-claim-email'], 'alice@example.com');
  assert.equal(out['x_vallum_claim_email'], undefined);
  assert.equal(out['x-vallum-jwt-assertion'], 'jwt');
  assert.equal(out['x-vallum-claim-groups'], 'admins,eng');
  assert.equal(out.accept, 'text/html');
});

test('without an identity (public route) no identity header reaches the upstream', () => {
  const out = upstreamRequestHeaders({ ...base, headers: { 'x-vallum-claim-email': 'evil' } });
  assert.deepEqual(
    Object.keys(out).filter((k) => /vallum/i.test(k)),
    [],
  );
});

test('hop-by-hop headers and those named in Connection are dropped; the Vallum cookie is kept from the app', () => {
  const out = upstreamRequestHeaders({
    ...base,
    headers: {
      connection: 'keep-alive, x-secret',
      'x-secret': '1',
      'keep-alive': '5',
      te: 'trailers',
      cookie: '_vallum=abc; app=1; _vallum_csrf=x',
      'x-forwarded-for': '6.6.6.6',
    },
  });
  assert.equal(out.connection, undefined);
  assert.equal(out['x-secret'], undefined);
  assert.equal(out['keep-alive'], undefined);
  assert.equal(out.te, undefined);
  assert.equal(out.cookie, 'app=1');
  assert.equal(out['x-forwarded-for'], '127.0.0.9');
  assert.equal(out['x-forwarded-host'], 'app.localhost:8000');
  assert.equal(out['x-request-id'], 'rid-1');
  const down = downstreamResponseHeaders({ connection: 'close', 'transfer-encoding': 'chunked', 'set-cookie': ['a=1', 'b=2'] });
  assert.deepEqual(down, { 'set-cookie': ['a=1', 'b=2'] });
});

test('the upstream path joins base and request path with one slash and keeps the query as sent', () => {
  assert.equal(upstreamPath(new URL('http://h:1/base'), '/dir', '?q=%2F&x'), '/base/dir?q=%2F&x');
  assert.equal(upstreamPath(new URL('http://h:1/base/'), '/dir', ''), '/base/dir');
  assert.equal(upstreamPath(new URL('http://h:1'), '/dir', '?q'), '/dir?q');
});

test("only Vallum's own cookies are taken out of the Cookie header, whatever the spacing", () => {
  const cookieOut = (cookie: string) => upstreamRequestHeaders({ ...base, headers: { cookie } }).cookie;
  assert.equal(cookieOut('_vallum=abc'), undefined);
  assert.equal(cookieOut('a=1;_vallum=abc;  b=2 ;_vallum_csrf=x'), 'a=1; b=2');
  assert.equal(cookieOut('_vallumx=1; x_vallum=2; _vallum_csrfx=3'), '_vallumx=1; x_vallum=2; _vallum_csrfx=3');
  assert.equal(cookieOut(' ; a=1 ;; '), 'a=1');
});

test("a route's set_request_headers cannot set an identity header, nor a jwt_claims_headers one", () => {
  const out = upstreamRequestHeaders({
    ...base,
    headers: {},
    stripHeaders: new Set(['x-user-email']),
    rules: { setRequestHeaders: { 'X-User-Email': 'configured', 'X-Vallum-Claim-Email': 'configured', 'X-Team': 'blue' }, removeRequestHeaders: [] },
    identity: { email: 'alice@example.com', groups: [], assertion: 'jwt', extra: { 'X-User-Email': 'alice@example.com' } },
  });
  assert.equal(out['x-user-email'], 'alice@example.com');
  assert.equal(out['x-vallum-claim-email'], 'alice@example.com');
  assert.equal(out['x-team'], 'blue');
});
