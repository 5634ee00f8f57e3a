// Which peers may tell us who the client is (X-Forwarded-For), and so who the client really is.
import { BlockList, isIPv4 } from 'node:net';
import { parseAddressRange } from '@vallum/config';

export type TrustCheck = (peer: string | undefined) => boolean;

/** Addresses and CIDRs (validated at config load) → a check of one peer address. */
export function createTrustCheck(entries: readonly string[]): TrustCheck {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of entries) {
    const range = parseAddressRange(entry);
    if (range) list.addSubnet(...range);
  }
  return (peer) => {
    if (!peer) return false;
    // An IPv4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d.
    const v4 = peer.startsWith('::ffff:') && isIPv4(peer.slice(7)) ? peer.slice(7) : undefined;
    return v4 ? list.check(v4, 'ipv4') : list.check(peer, isIPv4(peer) ? 'ipv4' : 'ipv6');
  };
}

/**
 * The client's address for policies (`source_ip`): the peer, unless the peer is a trusted proxy, then the nearest
 * X-Forwarded-For entry that is not itself a trusted proxy. A client can put anything on the left of the list, so
 * it is read from the right and only through trusted hops.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustCheck): string | undefined {
  if (!trusted(peer) || forwardedFor === undefined) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => h.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!trusted(hops[i])) return hops[i];
  return hops[0] ?? peer;
}
