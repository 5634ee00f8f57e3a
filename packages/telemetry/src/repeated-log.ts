// Error lines that can repeat once per request (an upstream or a store down) written once per interval: the first
// at once, then one summary line per interval with how many more there were, so an outage leaves a few lines, not
// one per request. The caller makes one and closes it with what owns it; there is no shared state.

export type RepeatedLogLevel = 'error' | 'warn' | 'info';

/** The part of a pino (or fastify) logger a repeated log writes to. */
export type LogSink = Record<RepeatedLogLevel, (fields: object, message: string) => void>;

export interface RepeatedLogOptions {
  /** How long identical lines are counted before a summary is written (default 10 s). */
  intervalMs?: number;
  /** Distinct keys counted at once; past it lines are written as they come (default 1000). */
  maxKeys?: number;
}

export interface RepeatedLog {
  /** Writes the line now when `key` was not written within the interval; counts it for the summary otherwise. */
  write(level: RepeatedLogLevel, key: string, fields: object, message: string): void;
  /** Writes the pending summaries and stops the timer. */
  close(): void;
}

interface Counted {
  level: RepeatedLogLevel;
  fields: object;
  message: string;
  since: number;
  repeats: number;
}

export function createRepeatedLog(sink: LogSink, options: RepeatedLogOptions = {}): RepeatedLog {
  const intervalMs = options.intervalMs ?? 10_000;
  const maxKeys = options.maxKeys ?? 1000;
  const counted = new Map<string, Counted>();
  let timer: NodeJS.Timeout | undefined;

  const summarize = (c: Counted, now: number) => {
    const seconds = Math.max(1, Math.round((now - c.since) / 1000));
    const times = c.repeats.toLocaleString('en-US');
    sink[c.level]({ ...c.fields, repeated: c.repeats, seconds }, `${c.message} (repeated ${times} time${c.repeats === 1 ? '' : 's'} in ${seconds} s)`);
    c.repeats = 0;
    c.since = now;
  };
  // A key with no repeats over a whole interval is forgotten, so its next occurrence is written at once.
  const flush = () => {
    const now = Date.now();
    for (const [key, c] of counted) {
      if (c.repeats > 0) summarize(c, now);
      else if (now - c.since >= intervalMs) counted.delete(key);
    }
    if (counted.size === 0) stop();
  };
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };

  return {
    write(level, key, fields, message) {
      const c = counted.get(key);
      if (c) {
        c.repeats++;
        return;
      }
      sink[level](fields, message);
      if (counted.size >= maxKeys) return;
      counted.set(key, { level, fields, message, since: Date.now(), repeats: 0 });
      if (!timer) {
        timer = setInterval(flush, intervalMs);
        timer.unref();
      }
    },
    close() {
      const now = Date.now();
      for (const c of counted.values()) if (c.repeats > 0) summarize(c, now);
      counted.clear();
      stop();
    },
  };
}

/** Error codes of failures that are part of operating (a peer down, slow or gone), logged without a stack trace. */
const OPERATIONAL_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * The code of the operational failure under `err` (itself or a cause, a few levels deep), or undefined when it is
 * something else, whose stack trace is worth logging.
 */
export function operationalCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && OPERATIONAL_CODES.has(code)) return code;
    if (e instanceof AggregateError && e.errors.length > 0) e = e.errors[0];
    else e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Log fields for an error: its code and message for an operational failure, the whole error (stack included) otherwise. */
export function errorFields(err: unknown): object {
  const cause = operationalCode(err);
  if (cause === undefined) return { err };
  const code = (err as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : cause, cause, error: err instanceof Error ? err.message : String(err) };
}

/** What makes two failures the same repeated line: the error's code and its operational cause, or a bug's message. */
export function errorKey(err: unknown): string {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  const cause = operationalCode(err);
  return `${String(code)}:${cause ?? (err instanceof Error ? err.message : String(err))}`;
}
