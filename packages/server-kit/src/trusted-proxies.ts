// Which peers may tell us who the client is (X-Forwarded-For), and so who the client really is. Ranges are matched
// by the policy language's matcher, the one `source_ip` uses.
import type { IncomingMessage } from 'node:http';
import { inAnyRange, parseIp, parseRange, type IpRange } from '@vallum/policy';

export type TrustCheck = (peer: string | undefined) => boolean;

/** Peer addresses whose trust one check remembers. */
const TRUST_CACHE_SIZE = 4096;

/** Addresses and CIDRs (validated at config load) → a check of one peer address. */
export function createTrustCheck(entries: readonly string[]): TrustCheck {
  const ranges = entries.map(parseRange).filter((r): r is IpRange => r !== undefined);
  if (ranges.length === 0) return () => false;
  // Peers repeat (a load balancer's few addresses, keep-alive clients): their answers are remembered, so most
  // checks are one Map lookup instead of parsing the address. Bounded: emptied when full.
  const seen = new Map<string, boolean>();
  return (peer) => {
    if (!peer) return false;
    const known = seen.get(peer);
    if (known !== undefined) return known;
    // An IPv4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d; parseIp reads it as the IPv4 address.
    const address = parseIp(peer);
    const trusted = address !== undefined && inAnyRange(address, ranges);
    if (seen.size >= TRUST_CACHE_SIZE) seen.clear();
    seen.set(peer, trusted);
    return trusted;
  };
}

/**
 * The client's address for policies (`source_ip`): the peer, unless the peer is a trusted proxy, then the nearest
 * X-Forwarded-For entry that is not itself a trusted proxy. A client can put anything on the left of the list, so
 * it is read from the right and only through trusted hops.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustCheck): string | undefined {
  if (!trusted(peer) || forwardedFor === undefined) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!trusted(hops[i])) return hops[i];
  return hops[0] ?? peer;
}

/** For createServer's `trustTrace`: a request is believed about its trace when its peer is a trusted proxy. */
export function trustedPeer(entries: readonly string[]): (raw: IncomingMessage) => boolean {
  const trusted = createTrustCheck(entries);
  return (raw) => trusted(raw.socket.remoteAddress);
}
