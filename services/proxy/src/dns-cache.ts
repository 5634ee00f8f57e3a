// Upstream host names resolved for Vallum's connections (HTTP/1.1 and HTTP/2 upstreams, WebSocket upgrades): answers
// kept for `upstream_dns_ttl`, so a burst of new connections costs one lookup and a changed record is picked up
// within the TTL. Each answer is handed out rotated by one, so new connections spread over every address of a name
// (a headless Service's pods, several A records). Failures are not kept.
import { lookup as systemLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';

/** Every address of a host name (node:dns `lookup` with `all: true`). */
export type ResolveAll = (hostname: string, family: number) => Promise<LookupAddress[]>;

const resolveWithSystem: ResolveAll = (hostname, family) =>
  new Promise((resolve, reject) => systemLookup(hostname, { all: true, family }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

export function createCachedLookup(ttlMs: number, resolveAll: ResolveAll = resolveWithSystem, now: () => number = Date.now): LookupFunction {
  const answers = new Map<string, { until: number; addresses: LookupAddress[]; turn: number }>();
  const lookup = (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: (...args: unknown[]) => void) => {
    const family = typeof options.family === 'number' ? options.family : 0;
    const key = `${family}/${hostname}`;
    const reply = (addresses: LookupAddress[]) => {
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    };
    const known = answers.get(key);
    if (known && known.until > now()) {
      const { addresses } = known;
      const turn = known.turn++ % addresses.length;
      return reply(turn === 0 ? addresses : [...addresses.slice(turn), ...addresses.slice(0, turn)]);
    }
    resolveAll(hostname, family).then(
      (addresses) => {
        if (addresses.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }));
        if (answers.size >= 1024) answers.clear();
        answers.set(key, { until: now() + ttlMs, addresses, turn: 1 });
        reply(addresses);
      },
      (err: unknown) => callback(err),
    );
  };
  return lookup as unknown as LookupFunction;
}
