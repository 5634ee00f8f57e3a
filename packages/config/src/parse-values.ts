// The parsers of config values (durations, sizes, hosts), and the patterns the schema checks them with, so a value
// the schema accepts always parses. Address ranges are the policy language's (`parseRange` in @vallum/policy).

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
/** JSON Schema `pattern` of a duration: `500ms`, `30s`, `5m`, `14h`, `30d`, or Go-style compounds like `1h30m`, `1m30s`. */
export const DURATION_PATTERN = '^(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h|d))+$';
const DURATION = new RegExp(DURATION_PATTERN);

/** `1h30m` → 5_400_000 (milliseconds, rounded); the parts are summed as Go's time.ParseDuration does. */
export function parseDuration(value: string): number {
  if (!DURATION.test(value)) throw new Error(`invalid duration ${value}`);
  let ms = 0;
  for (const [, amount, unit] of value.matchAll(DURATION_PART)) ms += Number(amount) * DURATION_UNITS[unit!]!;
  return Math.round(ms);
}

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
