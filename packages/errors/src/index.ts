// VallumError: every error a service throws on purpose carries a stable code, an HTTP status and whether its
// message is safe to show to the client (`expose`). Callers branch on `code`, never on the message.

export interface VallumErrorOptions {
  status?: number;
  expose?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class VallumError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: VallumErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VallumError';
    this.code = code;
    this.status = options.status ?? 500;
    this.expose = options.expose ?? this.status < 500;
    this.details = options.details;
  }
}

/** The table of codes shared across services. Services add their own `VALLUM_<SERVICE>_*` codes beside them. */
export const ErrorCodes = {
  CONFIG_INVALID: 'VALLUM_CONFIG_INVALID',
  CONFIG_READ: 'VALLUM_CONFIG_READ',
  POLICY_INVALID: 'VALLUM_POLICY_INVALID',
  SESSION_INVALID: 'VALLUM_SESSION_INVALID',
  SESSION_NOT_FOUND: 'VALLUM_SESSION_NOT_FOUND',
  SERVICE_AUTH_REQUIRED: 'VALLUM_SERVICE_AUTH_REQUIRED',
  SERVICE_UNAVAILABLE: 'VALLUM_SERVICE_UNAVAILABLE',
  SERVICE_BAD_RESPONSE: 'VALLUM_SERVICE_BAD_RESPONSE',
  REDIRECT_NOT_ALLOWED: 'VALLUM_REDIRECT_NOT_ALLOWED',
  HANDOFF_INVALID: 'VALLUM_HANDOFF_INVALID',
  SIGN_IN_FAILED: 'VALLUM_SIGN_IN_FAILED',
  IDP_UNAVAILABLE: 'VALLUM_IDP_UNAVAILABLE',
  IDENTITY_INVALID: 'VALLUM_IDENTITY_INVALID',
  CACHE_UNAVAILABLE: 'VALLUM_CACHE_UNAVAILABLE',
  ROUTE_NOT_FOUND: 'VALLUM_ROUTE_NOT_FOUND',
  REQUEST_FRAMING_INVALID: 'VALLUM_REQUEST_FRAMING_INVALID',
  UPSTREAM_UNAVAILABLE: 'VALLUM_UPSTREAM_UNAVAILABLE',
  UPSTREAM_TIMEOUT: 'VALLUM_UPSTREAM_TIMEOUT',
  ACCESS_DENIED: 'VALLUM_ACCESS_DENIED',
  BAD_REQUEST: 'VALLUM_BAD_REQUEST',
  RATE_LIMITED: 'VALLUM_RATE_LIMITED',
  REQUEST_BODY_TOO_LARGE: 'VALLUM_REQUEST_BODY_TOO_LARGE',
  UNSUPPORTED_CONTENT_ENCODING: 'VALLUM_UNSUPPORTED_CONTENT_ENCODING',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export function isVallumError(err: unknown): err is VallumError {
  return err instanceof VallumError;
}
export { suggest, didYouMean } from './suggest.js';
