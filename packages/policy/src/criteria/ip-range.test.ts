import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { inAnyRange, inRange, parseIp, parseRange } from './ip-range.js';

test('parses IPv4, IPv6 (compressed, embedded IPv4) and IPv4-mapped; refuses junk', () => {
  assert.deepEqual(parseIp('10.1.2.3'), { family: 4, value: 0x0a010203 });
  assert.deepEqual(parseIp('::ffff:10.1.2.3'), { family: 4, value: 0x0a010203 });
  assert.deepEqual([...(parseIp('2001:db8::1')!.value as Uint16Array)], [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([...(parseIp('::')!.value as Uint16Array)], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...(parseIp('64:ff9b::192.0.2.1')!.value as Uint16Array)], [0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0201]);
  for (const bad of ['', '1.2.3', '1.2.3.256', '01.2.3.4', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '::1/8', 'localhost']) {
    assert.equal(parseIp(bad), undefined, bad);
  }
  assert.equal(parseRange('10.0.0.0/33'), undefined);
  assert.equal(parseRange('10.0.0.0/-1'), undefined);
  assert.equal(parseRange('10.0.0.0/'), undefined);
  assert.equal(parseRange('10.0.0.0/8/8'), undefined);
  assert.equal(parseRange('2001:db8::/129'), undefined);
});

test('range membership agrees with node:net BlockList', () => {
  const ranges = ['10.0.0.0/8', '192.168.1.0/24', '0.0.0.0/0', '203.0.113.7/32', '10.1.2.3/31', '2001:db8::/32', '2001:db8:0:8000::/49', '::/0', 'fe80::1/128'];
  const addresses = [
    '10.255.255.255',
    '11.0.0.0',
    '192.168.1.77',
    '192.168.2.1',
    '203.0.113.7',
    '203.0.113.8',
    '10.1.2.2',
    '10.1.2.4',
    '2001:db8::1',
    '2001:db9::1',
    '2001:db8:0:8000::1',
    '2001:db8:0:7fff::1',
    'fe80::1',
    'fe80::2',
  ];
  for (const r of ranges) {
    const range = parseRange(r)!;
    const block = new BlockList();
    const [base, prefix] = r.split('/');
    block.addSubnet(base!, Number(prefix), range.family === 4 ? 'ipv4' : 'ipv6');
    for (const a of addresses) {
      const address = parseIp(a)!;
      const expected = address.family === range.family && block.check(a, address.family === 4 ? 'ipv4' : 'ipv6');
      assert.equal(inRange(address, range), expected, `${a} in ${r}`);
    }
  }
});

test('an IPv4-mapped range is the IPv4 range its clients are seen as; one wider than the mapped block is refused', () => {
  assert.deepEqual(parseRange('::ffff:10.0.0.0/104'), parseRange('10.0.0.0/8'));
  assert.deepEqual(parseRange('::ffff:10.1.2.3'), parseRange('10.1.2.3/32'));
  assert.deepEqual(parseRange('::ffff:0:0/96'), parseRange('0.0.0.0/0'));
  assert.equal(parseRange('::ffff:0:0/95'), undefined);
  assert.equal(parseRange('::ffff:10.0.0.0/129'), undefined);
  assert.equal(inAnyRange(parseIp('::ffff:10.9.9.9')!, [parseRange('::ffff:10.0.0.0/104')!]), true);
  assert.equal(inAnyRange(parseIp('11.0.0.1')!, [parseRange('::ffff:10.0.0.0/104')!, parseRange('2001:db8::/32')!]), false);
});
