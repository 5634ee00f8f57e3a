// Durations as config and policies write them (`500ms`, `30s`, `15m`, `14h`, `7d`, `1h30m`), in milliseconds. The
// config package re-exports these, so a duration means the same in vallum.yaml and in a policy.

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
