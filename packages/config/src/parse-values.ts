// Parsers for config values that several parts of the config share: durations, address ranges, hosts.
import { isIP } from 'node:net';

/** An IP address or CIDR as [address, prefix, family], or undefined when it is neither. */
export function parseAddressRange(entry: string): [string, number, 'ipv4' | 'ipv6'] | undefined {
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  return bits >= 0 && bits <= max ? [address, bits, family === 4 ? 'ipv4' : 'ipv6'] : undefined;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!m) throw new Error(`invalid duration ${value}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** `host[:port]` lower-cased, with the scheme's default port dropped, as browsers send it in Host. */
export function hostOf(url: URL): string {
  return url.host.toLowerCase();
}
