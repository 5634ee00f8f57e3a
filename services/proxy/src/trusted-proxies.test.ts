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

test('CIDR edges: the first and last address of a range are trusted, their neighbours outside it are not', () => {
  const trusted = createTrustCheck(['192.168.4.0/22', '2001:db8:a::/48', '::ffff:172.16.0.0/112', '203.0.113.7/32']);
  assert.equal(trusted('192.168.4.0'), true);
  assert.equal(trusted('192.168.7.255'), true);
  assert.equal(trusted('192.168.3.255'), false);
  assert.equal(trusted('192.168.8.0'), false);
  assert.equal(trusted('::ffff:192.168.7.255'), true, 'IPv4-mapped IPv6 is its IPv4 address');
  assert.equal(trusted('::ffff:192.168.8.0'), false);
  assert.equal(trusted('2001:db8:a::'), true);
  assert.equal(trusted('2001:db8:a:ffff:ffff:ffff:ffff:ffff'), true);
  assert.equal(trusted('2001:db8:b::'), false);
  assert.equal(trusted('2001:db8:9:ffff:ffff:ffff:ffff:ffff'), false);
  assert.equal(trusted('172.16.0.1'), true, 'a range written IPv4-mapped matches IPv4 peers');
  assert.equal(trusted('172.16.255.255'), true);
  assert.equal(trusted('172.17.0.0'), false);
  assert.equal(trusted('203.0.113.7'), true);
  assert.equal(trusted('203.0.113.8'), false);
  assert.equal(trusted('not-an-address'), false);
  assert.equal(trusted(''), false);
});

test('answers stay right past the number of peers a check remembers', () => {
  const trusted = createTrustCheck(['10.0.0.0/16']);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 10_000; i++) {
      const inside = `10.0.${(i >> 8) & 255}.${i & 255}`;
      const outside = `10.1.${(i >> 8) & 255}.${i & 255}`;
      assert.equal(trusted(inside), true, inside);
      assert.equal(trusted(outside), false, outside);
    }
  }
});
