#!/usr/bin/env node
// trusted_proxies check: ns per peer address with node's BlockList (which parses the address on every check)
// against Vallum's check (ranges parsed once at config load, each peer's answer remembered in a bounded map, a new
// address parsed by the policy language's matcher), in the same run, for peers that repeat and for peers that never
// do. Run: npx tsc -b && node bench/trusted-proxies.mjs
import { BlockList, isIP } from 'node:net';
import { createTrustCheck } from '../packages/server-kit/dist/trusted-proxies.js';

const entries = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.1', '::1', 'fd00::/8'];
const peers = ['10.1.2.3', '203.0.113.9', '::ffff:10.1.2.3', '::ffff:198.51.100.7', '2001:db8::1', 'fd12::7', '127.0.0.1', '::1'];

function blockListCheck() {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return (peer) => {
    if (!peer) return false;
    const mapped = peer.startsWith('::ffff:') && isIP(peer.slice(7)) === 4 ? peer.slice(7) : peer;
    return list.check(mapped, isIP(mapped) === 6 ? 'ipv6' : 'ipv4');
  };
}

// 200,000 different peers, more than the check remembers: every check parses the address.
const distinct = Array.from({ length: 200_000 }, (_, i) => (i % 2 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `2001:db8::${i.toString(16)}`));

function measure(check, addresses = peers) {
  const n = 200_000;
  let hits = 0;
  const run = () => {
    for (let i = 0; i < n; i++) if (check(addresses[i % addresses.length])) hits++;
  };
  run(); // warm up the JIT
  const times = [0, 1, 2, 3, 4].map(() => {
    const t = process.hrtime.bigint();
    run();
    return Number(process.hrtime.bigint() - t) / n;
  });
  return { ns: Math.min(...times), hits };
}

const vallumCheck = createTrustCheck(entries);
const reference = blockListCheck();
for (const peer of peers) {
  if (vallumCheck(peer) !== reference(peer)) throw new Error(`the two checks disagree on ${peer}`);
}
const before = measure(reference);
const after = measure(vallumCheck);
const beforeDistinct = measure(reference, distinct);
const afterDistinct = measure(createTrustCheck(entries), distinct);
console.log(`trusted_proxies check (${entries.length} entries, ${peers.length} peer addresses, IPv4, IPv6 and IPv4-mapped):`);
console.log('| check | ns per check | ratio to BlockList |');
console.log('|---|---|---|');
console.log(`| node:net BlockList (before) | ${before.ns.toFixed(0)} | 1.00× |`);
console.log(`| createTrustCheck, repeated peers (remembered) | ${after.ns.toFixed(0)} | ${(after.ns / before.ns).toFixed(3)}× |`);
console.log(`| node:net BlockList, 200,000 different peers | ${beforeDistinct.ns.toFixed(0)} | ${(beforeDistinct.ns / before.ns).toFixed(2)}× |`);
console.log(
  `| createTrustCheck, 200,000 different peers (every check parses) | ${afterDistinct.ns.toFixed(0)} | ${(afterDistinct.ns / before.ns).toFixed(2)}× |`,
);
