// VallumError: every error a service throws on purpose carries a stable code, an HTTP status and whether its
// message is safe to show to the client (`expose`). Callers branch on `code`, never on the message.
import type { ErrorCode } from './codes.js';

export interface VallumErrorOptions {
  status?: number;
  expose?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class VallumError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: VallumErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VallumError';
    this.code = code;
    this.status = options.status ?? 500;
    this.expose = options.expose ?? this.status < 500;
    this.details = options.details;
  }
}

export function isVallumError(err: unknown): err is VallumError {
  return err instanceof VallumError;
}
