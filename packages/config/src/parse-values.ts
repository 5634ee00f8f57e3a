// The parsers of config values (durations, sizes, hosts), and the patterns the schema checks them with, so a value
// the schema accepts always parses. Address ranges are the policy language's (`parseRange` in @vallum/policy).

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** JSON Schema `pattern` of a duration: `500ms`, `30s`, `5m`, `14h`, `30d`. */
export const DURATION_PATTERN = DURATION.source;

export function parseDuration(value: string): number {
  const m = DURATION.exec(value);
  if (!m) throw new Error(`invalid duration ${value}`);
  return Number(m[1]) * DURATION_UNITS[m[2]!]!;
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

/** `host[:port]` lower-cased, with the scheme's default port dropped, as browsers send it in Host. */
export function hostOf(url: URL): string {
  return url.host.toLowerCase();
}
