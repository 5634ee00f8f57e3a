// The parsers of config values (durations, sizes, hosts), and the patterns the schema checks them with, so a value
// the schema accepts always parses. Address ranges are the policy language's (`parseRange` in @vallum/policy).

export { DURATION_PATTERN, parseDuration } from '@vallum/policy';

const SIZE = /^(\d+)(B|KB|MB|GB|KiB|MiB|GiB)?$/;
const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
/** JSON Schema `pattern` of a size: `1000` (bytes), `512KB`, `10MiB`. */
export const SIZE_PATTERN = SIZE.source;

/** `10MiB`, `512KB`, `1000` (bytes) → bytes. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = SIZE.exec(value);
  if (!m) throw new Error(`invalid size ${value}`);
  return Number(m[1]) * SIZE_UNITS[m[2] ?? 'B']!;
}

/** `host:port`, `:port` (all interfaces) or `[v6]:port` → what `listen()` takes. */
export function parseListenAddress(address: string, setting = 'address'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address.trim());
  if (!m) throw new Error(`${setting}: expected host:port, :port or [v6]:port, got '${address}'`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`${setting}: port out of range in '${address}'`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** `host[:port]` lower-cased, with the scheme's default port dropped, as browsers send it in Host. */
export function hostOf(url: URL): string {
  return url.host.toLowerCase();
}
