// `log_format: pretty`: each finished JSON line rewritten as one human-readable line, in pino's streamWrite hook
// (synchronous, no worker thread, no extra dependency): `time LEVEL service message key=value …`.

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const SHOWN_FIRST = new Set(['level', 'time', 'service', 'msg', 'pid', 'hostname']);

export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  let line = `${time} ${LEVELS[o.level as number] ?? String(o.level)} ${String(o.service ?? '-')} ${String(o.msg ?? '')}`;
  for (const key in o) {
    if (SHOWN_FIRST.has(key)) continue;
    line += ` ${key}=${shown(o[key])}`;
  }
  return `${line}\n`;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object' && 'message' in value && 'type' in value) {
    // An error: its type and message; the stack stays in the JSON format.
    const err = value as { type: unknown; message: unknown; code?: unknown };
    return JSON.stringify(`${String(err.type)}: ${String(err.message)}${err.code === undefined ? '' : ` (${String(err.code)})`}`);
  }
  return JSON.stringify(value);
}
