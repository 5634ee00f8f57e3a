// Which peers may tell us who the client is (X-Forwarded-For): only those inside `trusted_proxies`.
import { BlockList, isIPv4 } from 'node:net';

export type TrustCheck = (peer: string | undefined) => boolean;

export function createTrustCheck(cidrs: readonly string[]): TrustCheck {
  if (cidrs.length === 0) return () => false;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/') as [string, string | undefined];
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return (peer) => {
    if (!peer) return false;
    // An IPv4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d.
    const v4 = peer.startsWith('::ffff:') ? peer.slice(7) : peer;
    return isIPv4(v4) ? list.check(v4, 'ipv4') : list.check(peer, 'ipv6');
  };
}
