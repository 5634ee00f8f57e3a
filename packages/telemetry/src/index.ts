// Logger options every service shares: JSON lines (or readable ones), secrets redacted, one set of field names.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { prettyLine } from './pretty-line.js';
import { redactSecrets } from './redact-secrets.js';

export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers["set-cookie"]',
  '*.client_secret',
  '*.refresh_token',
  '*.access_token',
  '*.id_token',
  '*.refreshToken',
  '*.accessToken',
  '*.idToken',
];

export type LogFormat = 'json' | 'pretty';

export interface LoggerSettings {
  service: string;
  level?: string;
  /** json (the default): one JSON object per line; pretty: one readable line per entry. */
  format?: LogFormat;
}

const prettyRedacted = (line: string) => prettyLine(redactSecrets(line));

export function loggerOptions(settings: LoggerSettings): LoggerOptions {
  return {
    level: settings.level ?? process.env.VALLUM_LOG_LEVEL ?? 'info',
    base: { service: settings.service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Field redaction cannot know every place a URL or an error message lands: the finished line is scrubbed too.
    hooks: { streamWrite: settings.format === 'pretty' ? prettyRedacted : redactSecrets },
  };
}

/** Field names used in access, decision and error log lines. */
export const LogFields = {
  requestId: 'request_id',
  traceId: 'trace_id',
  route: 'route',
  user: 'user',
  decision: 'decision',
  reasons: 'reasons',
} as const;

/** The message of the one access-log line each request gets. */
export const ACCESS_LOG_MESSAGE = 'request';

/**
 * The access-line logger: the same options without field redaction. The line's fields are Vallum's own choice (no
 * headers, no token fields) and the finished line is still scrubbed; pino's redaction of wildcard paths costs more
 * than the rest of the line (bench/access-log.mjs).
 */
export function createAccessLogger(settings: LoggerSettings, destination?: DestinationStream): Logger {
  const options = loggerOptions(settings);
  delete options.redact;
  return destination ? pino(options, destination) : pino(options);
}

/** A logger outside any request (start-up, in-process decisions), with the same options as the services'. */
export function createLogger(settings: LoggerSettings): Logger {
  return pino(loggerOptions(settings));
}

export type { Logger } from 'pino';
export { lazyChildLogger } from './lazy-child-logger.js';
export { prettyLine } from './pretty-line.js';
export { redactSecrets, SECRET_PARAMS, REDACTED } from './redact-secrets.js';
export {
  createRepeatedLog,
  errorFields,
  errorKey,
  operationalCode,
  type RepeatedLog,
  type RepeatedLogLevel,
  type RepeatedLogOptions,
  type LogSink,
} from './repeated-log.js';
export type { GaugeSource, MetricsOptions, VallumMetrics } from './metrics.js';
export { methodLabel, routeRequestRecorder, statusClass, type RouteRequestRecorder } from './metric-labels.js';
export { TallyCounter, TallyHistogram, type CounterChild, type HistogramChild } from './tally-metrics.js';
export {
  createTraceStarter,
  formatTraceparent,
  parseTraceparent,
  type TraceContext,
  type Traceparent,
  type TraceStarter,
  type TraceStarterOptions,
} from './trace-context.js';
export { createOtlpSpanExporter, type OtlpSpanExporterOptions, type SpanExporter, type SpanRecord } from './otlp-spans.js';
