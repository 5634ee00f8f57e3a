import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyHeaders } from './policy-request.js';

test('policy headers: credentials withheld, lists joined, the set and each value bounded', () => {
  const out = policyHeaders({ cookie: '_vallum=x', authorization: 'Bearer t', 'proxy-authorization': 'p', 'x-team': 'blue', 'x-list': ['a', 'b'] as never, 'x-long': 'v'.repeat(5000) });
  assert.deepEqual(Object.keys(out), ['x-team', 'x-list', 'x-long']);
  assert.equal(out['x-list'], 'a, b');
  assert.equal(out['x-long']?.length, 4096);
  const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-${i}`, 'v']));
  assert.equal(Object.keys(policyHeaders(many)).length, 64);
});
