import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress, createTrustCheck } from './trusted-proxies.js';

test('addresses and CIDRs, IPv4 on dual-stack sockets included, are trusted; others are not', () => {
  const trusted = createTrustCheck(['10.0.0.0/8', '127.0.0.1', '::1']);
  assert.equal(trusted('10.1.2.3'), true);
  assert.equal(trusted('::ffff:10.1.2.3'), true);
  assert.equal(trusted('127.0.0.1'), true);
  assert.equal(trusted('::1'), true);
  assert.equal(trusted('11.0.0.1'), false);
  assert.equal(trusted(undefined), false);
  assert.equal(createTrustCheck([])('127.0.0.1'), false);
});

test('the client address comes from X-Forwarded-For only through trusted hops, read from the right', () => {
  const trusted = createTrustCheck(['10.0.0.0/8']);
  assert.equal(clientAddress('203.0.113.9', '1.2.3.4', trusted), '203.0.113.9', 'an untrusted peer cannot name the client');
  assert.equal(clientAddress('10.0.0.2', '198.51.100.7', trusted), '198.51.100.7');
  assert.equal(clientAddress('10.0.0.2', '6.6.6.6, 198.51.100.7, 10.0.0.5', trusted), '198.51.100.7', 'a forged left-hand entry is ignored');
  assert.equal(clientAddress('10.0.0.2', undefined, trusted), '10.0.0.2');
  assert.equal(clientAddress('10.0.0.2', '10.0.0.9', trusted), '10.0.0.9');
});
