// Upstream host names resolved for connections undici does not make (WebSocket upgrades through node:http): answers
// kept for `upstream_dns_ttl`, like the DNS step of the undici dispatchers, so a burst of upgrades costs one lookup
// and a changed record is picked up within the TTL. Failures are not kept.
import { lookup as systemLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';

/** Every address of a host name (node:dns `lookup` with `all: true`). */
export type ResolveAll = (hostname: string, family: number) => Promise<LookupAddress[]>;

const resolveWithSystem: ResolveAll = (hostname, family) =>
  new Promise((resolve, reject) => systemLookup(hostname, { all: true, family }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

export function createCachedLookup(ttlMs: number, resolveAll: ResolveAll = resolveWithSystem, now: () => number = Date.now): LookupFunction {
  const answers = new Map<string, { until: number; addresses: LookupAddress[] }>();
  const lookup = (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: (...args: unknown[]) => void) => {
    const family = typeof options.family === 'number' ? options.family : 0;
    const key = `${family}/${hostname}`;
    const reply = (addresses: LookupAddress[]) => {
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    };
    const known = answers.get(key);
    if (known && known.until > now()) return reply(known.addresses);
    resolveAll(hostname, family).then(
      (addresses) => {
        if (addresses.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }));
        if (answers.size >= 1024) answers.clear();
        answers.set(key, { until: now() + ttlMs, addresses });
        reply(addresses);
      },
      (err: unknown) => callback(err),
    );
  };
  return lookup as unknown as LookupFunction;
}
