// Logger options every service shares: JSON lines, secrets redacted, one set of field names.
import { pino, type Logger, type LoggerOptions } from 'pino';
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

export interface LoggerSettings {
  service: string;
  level?: string;
}

export function loggerOptions(settings: LoggerSettings): LoggerOptions {
  return {
    level: settings.level ?? process.env.VALLUM_LOG_LEVEL ?? 'info',
    base: { service: settings.service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Field redaction cannot know every place a URL or an error message lands: the finished line is scrubbed too.
    hooks: { streamWrite: redactSecrets },
  };
}

/** Field names used in decision and access log lines. */
export const LogFields = {
  requestId: 'request_id',
  route: 'route',
  user: 'user',
  decision: 'decision',
  reasons: 'reasons',
} as const;

/** A logger outside any request (start-up, in-process decisions), with the same options as the services'. */
export function createLogger(settings: LoggerSettings): Logger {
  return pino(loggerOptions(settings));
}

export { lazyChildLogger } from './lazy-child-logger.js';
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
