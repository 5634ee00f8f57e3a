import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loopbackTarget, sameOrigin } from './cli-login.js';

test('the login confirmation counts only a POST from the route origin as a yes', () => {
  const from = 'https://app.example.com';
  assert.equal(sameOrigin({ origin: 'https://app.example.com' }, from), true);
  assert.equal(sameOrigin({ origin: 'https://app.example.com', 'sec-fetch-site': 'cross-site' }, from), true, 'Origin decides when sent');
  assert.equal(sameOrigin({ origin: 'https://evil.example' }, from), false);
  assert.equal(sameOrigin({ origin: 'http://app.example.com' }, from), false, 'another scheme is another origin');
  assert.equal(sameOrigin({ origin: 'null' }, from), false, 'a sandboxed or privacy-stripped origin');
  assert.equal(sameOrigin({ 'sec-fetch-site': 'same-origin' }, from), true);
  assert.equal(sameOrigin({ 'sec-fetch-site': 'same-site' }, from), false, 'a sibling subdomain is not this route');
  assert.equal(sameOrigin({}, from), false, 'no evidence, no token');
});

test('only an http loopback listener with a port is a target', () => {
  assert.equal(loopbackTarget('http://127.0.0.1:8123/cb')?.port, '8123');
  for (const bad of ['http://127.0.0.1/', 'https://127.0.0.1:1/', 'http://u:p@127.0.0.1:1/', 'http://127.0.0.1.evil.example:1/', undefined])
    assert.equal(loopbackTarget(bad), null, String(bad));
});
