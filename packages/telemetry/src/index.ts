// Logger options every service shares: JSON lines, secrets redacted, one set of field names.
import { pino, type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  '*.client_secret',
  '*.refresh_token',
  '*.access_token',
  '*.id_token',
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
