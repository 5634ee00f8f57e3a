import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyHeaders } from './policy-request.js';

test('policy headers: credentials withheld, lists joined, the set and each value bounded', () => {
  const out = policyHeaders({
    cookie: '_vallum=x',
    authorization: 'Bearer t',
    'proxy-authorization': 'p',
    'x-team': 'blue',
    'x-list': ['a', 'b'] as never,
    'x-long': 'v'.repeat(5000),
  });
  assert.deepEqual(Object.keys(out), ['x-team', 'x-list', 'x-long']);
  assert.equal(out['x-list'], 'a, b');
  assert.equal(out['x-long']?.length, 4096);
  const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-${i}`, 'v']));
  assert.equal(Object.keys(policyHeaders(many)).length, 64);
});

test('forwarding headers reach the policy only from a trusted proxy, never in the `_` spelling', () => {
  const headers = { 'x-forwarded-proto': 'https', forwarded: 'proto=https', 'x-real-ip': '10.0.0.1', x_forwarded_proto: 'https', 'x-team': 'blue' };
  assert.deepEqual(policyHeaders(headers), { 'x-team': 'blue' });
  assert.deepEqual(policyHeaders(headers, true), { 'x-forwarded-proto': 'https', forwarded: 'proto=https', 'x-real-ip': '10.0.0.1', 'x-team': 'blue' });
});
