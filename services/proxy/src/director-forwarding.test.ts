import { test } from 'node:test';
import assert from 'node:assert/strict';
import { upstreamRequestHeaders, upstreamTrailerList, upstreamTrailerNames } from './director.js';

const base = { cookieName: '_vallum', clientIp: '127.0.0.9', proto: 'http' as const, host: 'app.localhost:8000', requestId: 'rid-1' };
const spoofed = {
  forwarded: 'for=6.6.6.6;host=evil;proto=https',
  'x-real-ip': '6.6.6.6',
  'x-forwarded-port': '443',
  'x-forwarded-prefix': '/admin',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-uri': '/admin',
  'x-client-ip': '6.6.6.6',
  'true-client-ip': '6.6.6.6',
  'x-original-url': '/admin',
  x_forwarded_for: '6.6.6.6',
  x_real_ip: '6.6.6.6',
  'x-forwarded_host': 'evil.example',
  accept: 'text/html',
};

test('forwarding headers from an untrusted client are removed or replaced with Vallum’s own', () => {
  const out = upstreamRequestHeaders({ ...base, headers: spoofed });
  assert.deepEqual(out, {
    accept: 'text/html',
    'x-forwarded-for': '127.0.0.9',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'app.localhost:8000',
    'x-request-id': 'rid-1',
  });
});

test('a trusted proxy’s forwarding headers are passed on, but never in the `_` spelling', () => {
  const out = upstreamRequestHeaders({ ...base, trustedPeer: true, headers: spoofed });
  assert.equal(out.forwarded, spoofed.forwarded);
  assert.equal(out['x-real-ip'], '6.6.6.6');
  assert.equal(out['x-forwarded-port'], '443');
  assert.equal(out['x-forwarded-prefix'], '/admin');
  assert.equal(out['x-forwarded-for'], '6.6.6.6, 127.0.0.9');
  assert.equal(out['x-forwarded-proto'], 'https');
  assert.equal(out['x-forwarded-host'], 'evil.example');
  assert.equal(out.x_forwarded_for, undefined);
  assert.equal(out.x_real_ip, undefined);
  assert.equal(out['x-forwarded_host'], undefined);
  assert.equal(out['x-request-id'], 'rid-1');
});

test('a route’s remove_request_headers still removes a trusted proxy’s forwarding header', () => {
  const rules = { setRequestHeaders: {}, removeRequestHeaders: ['X-Real-IP'] };
  const out = upstreamRequestHeaders({ ...base, trustedPeer: true, rules, headers: { 'x-real-ip': '1.2.3.4' } });
  assert.equal(out['x-real-ip'], undefined);
});

test('request trailers go through the header filter: no identity, hop-by-hop, forwarding or framing fields', () => {
  const raw = [
    'X-Checksum',
    'sum-1',
    'X-Vallum-Claim-Email',
    'admin@example.com',
    'x_vallum_claim_groups',
    'admins',
    'X-Email',
    'admin@example.com',
    'X-Forwarded-For',
    '6.6.6.6',
    'X-Real-IP',
    '6.6.6.6',
    'Forwarded',
    'for=6.6.6.6',
    'Connection',
    'close',
    'Transfer-Encoding',
    'chunked',
    'Host',
    'admin.localhost',
    'Content-Length',
    '0',
    'Authorization',
    'Bearer x',
    'Cookie',
    '_vallum=x',
    'X-Named',
    '1',
  ];
  const headers = { connection: 'x-named' };
  const kept = upstreamTrailerList(raw, { headers, stripHeaders: new Set(['x-email']) });
  assert.deepEqual(kept, [['X-Checksum', 'sum-1']]);
  assert.equal(upstreamTrailerNames('X-Checksum, X-Vallum-Claim-Email, x-forwarded-for, Host', {}), 'X-Checksum');
  assert.equal(upstreamTrailerNames('X-Vallum-Jwt-Assertion', {}), undefined);
});
