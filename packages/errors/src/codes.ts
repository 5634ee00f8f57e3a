// The one table of error codes: every `VALLUM_*` code any service sends or throws, with the status it usually
// answers with and what it means. docs/errors.md is generated from it (see errors-doc.ts).

export interface ErrorCodeInfo {
  /** The HTTP status the code is answered with (a thrown error may choose another, e.g. 503 for 502). */
  status: number;
  /** One sentence for docs/errors.md: what happened, and what the reader can do. */
  meaning: string;
}

export const ErrorCodes = {
  INTERNAL: 'VALLUM_INTERNAL',
  BAD_REQUEST: 'VALLUM_BAD_REQUEST',
  CONFIG_INVALID: 'VALLUM_CONFIG_INVALID',
  CONFIG_READ: 'VALLUM_CONFIG_READ',
  POLICY_INVALID: 'VALLUM_POLICY_INVALID',
  DEMO_OPTIONS_INVALID: 'VALLUM_DEMO_OPTIONS_INVALID',
  SESSION_INVALID: 'VALLUM_SESSION_INVALID',
  SESSION_NOT_FOUND: 'VALLUM_SESSION_NOT_FOUND',
  UNAUTHORIZED: 'VALLUM_UNAUTHORIZED',
  FORBIDDEN: 'VALLUM_FORBIDDEN',
  ACCESS_DENIED: 'VALLUM_ACCESS_DENIED',
  SERVICE_AUTH_REQUIRED: 'VALLUM_SERVICE_AUTH_REQUIRED',
  SERVICE_UNAVAILABLE: 'VALLUM_SERVICE_UNAVAILABLE',
  SERVICE_BAD_RESPONSE: 'VALLUM_SERVICE_BAD_RESPONSE',
  REDIRECT_NOT_ALLOWED: 'VALLUM_REDIRECT_NOT_ALLOWED',
  HANDOFF_INVALID: 'VALLUM_HANDOFF_INVALID',
  SIGN_IN_FAILED: 'VALLUM_SIGN_IN_FAILED',
  IDP_UNAVAILABLE: 'VALLUM_IDP_UNAVAILABLE',
  JWT_ISSUER_UNAVAILABLE: 'VALLUM_JWT_ISSUER_UNAVAILABLE',
  IDP_UNKNOWN: 'VALLUM_IDP_UNKNOWN',
  IDENTITY_INVALID: 'VALLUM_IDENTITY_INVALID',
  STEP_UP_FAILED: 'VALLUM_STEP_UP_FAILED',
  CACHE_UNAVAILABLE: 'VALLUM_CACHE_UNAVAILABLE',
  ROUTE_NOT_FOUND: 'VALLUM_ROUTE_NOT_FOUND',
  REQUEST_FRAMING_INVALID: 'VALLUM_REQUEST_FRAMING_INVALID',
  UPSTREAM_UNAVAILABLE: 'VALLUM_UPSTREAM_UNAVAILABLE',
  UPSTREAM_TIMEOUT: 'VALLUM_UPSTREAM_TIMEOUT',
  CLIENT_ABORTED: 'VALLUM_CLIENT_ABORTED',
  RATE_LIMITED: 'VALLUM_RATE_LIMITED',
  REQUEST_BODY_TOO_LARGE: 'VALLUM_REQUEST_BODY_TOO_LARGE',
  UNSUPPORTED_CONTENT_ENCODING: 'VALLUM_UNSUPPORTED_CONTENT_ENCODING',
  WORKER_EXITED: 'VALLUM_WORKER_EXITED',
  CLIENT_CERTIFICATE_REQUIRED: 'VALLUM_CLIENT_CERTIFICATE_REQUIRED',
  CLIENT_CERTIFICATE_INVALID: 'VALLUM_CLIENT_CERTIFICATE_INVALID',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Status and meaning of every code; a code missing here does not compile. */
export const ERROR_CODE_INFO: Readonly<Record<ErrorCode, ErrorCodeInfo>> = Object.freeze({
  VALLUM_INTERNAL: { status: 500, meaning: 'Something failed that was not expected; the log line with the same request id has the detail.' },
  VALLUM_BAD_REQUEST: { status: 400, meaning: 'The request is malformed (e.g. a body that does not fit the API, or an id that does not match the path).' },
  VALLUM_CONFIG_INVALID: {
    status: 500,
    meaning:
      'The configuration does not validate; the message lists every problem with file:line:col. Vallum does not start, and a reload keeps the running config.',
  },
  VALLUM_CONFIG_READ: { status: 500, meaning: 'The configuration file (or a `*_file` secret) cannot be read.' },
  VALLUM_POLICY_INVALID: { status: 500, meaning: 'A policy does not validate; the message lists every problem. The running policy is kept.' },
  VALLUM_DEMO_OPTIONS_INVALID: { status: 500, meaning: 'The demo IdP or demo app was started with options it cannot use (`vallum demo`).' },
  VALLUM_SESSION_INVALID: {
    status: 401,
    meaning: 'The session cookie cannot be opened (tampered, or sealed with another cookie_secret); the user signs in again.',
  },
  VALLUM_SESSION_NOT_FOUND: { status: 404, meaning: 'The session has ended or expired, or never existed; the user signs in again.' },
  VALLUM_UNAUTHORIZED: {
    status: 401,
    meaning: 'A bearer token is missing, invalid or expired, on a request that cannot be sent to sign in (APIs, the admin API).',
  },
  VALLUM_FORBIDDEN: {
    status: 403,
    meaning: 'The calling Vallum service may not use this internal endpoint (e.g. only authenticate reads ID tokens from the cache).',
  },
  VALLUM_ACCESS_DENIED: {
    status: 403,
    meaning: "The user is signed in but the route's policy (or admin_policy) does not allow the request; the answer lists the reasons.",
  },
  VALLUM_SERVICE_AUTH_REQUIRED: {
    status: 401,
    meaning: 'A call between Vallum services lacks a valid service token: check that both sides share the same shared_secret.',
  },
  VALLUM_SERVICE_UNAVAILABLE: { status: 503, meaning: 'Another Vallum service (authorize, cache, authenticate) cannot be reached.' },
  VALLUM_SERVICE_BAD_RESPONSE: { status: 502, meaning: 'Another Vallum service answered with an error or an answer that does not fit its API.' },
  VALLUM_REDIRECT_NOT_ALLOWED: { status: 400, meaning: 'A redirect target is not a site Vallum protects, so Vallum will not send the user there.' },
  VALLUM_HANDOFF_INVALID: {
    status: 400,
    meaning: 'The sign-in hand-off from authenticate to the route is invalid, expired or already used; the user opens the application again.',
  },
  VALLUM_SIGN_IN_FAILED: {
    status: 400,
    meaning: 'The sign-in could not be completed (the IdP refused it, the state expired, or the callback was malformed); the user starts again.',
  },
  VALLUM_IDP_UNAVAILABLE: { status: 503, meaning: 'The identity provider cannot be reached.' },
  VALLUM_JWT_ISSUER_UNAVAILABLE: {
    status: 503,
    meaning:
      "The signing keys of a bearer token's issuer (the IdP, or one of `jwt_issuers`) cannot be fetched, so the token can be neither accepted nor refused; retry after Retry-After.",
  },
  VALLUM_IDP_UNKNOWN: { status: 400, meaning: 'A sign-in link names an identity provider that is not configured.' },
  VALLUM_IDENTITY_INVALID: {
    status: 403,
    meaning: 'The identity provider sent an identity Vallum cannot accept (e.g. an email address with more than one @).',
  },
  VALLUM_STEP_UP_FAILED: {
    status: 403,
    meaning:
      'A route asks for a recent sign-in (max_session_age) or a stronger one (acr_values), and the IdP signed the user in without it; the user keeps their other access.',
  },
  VALLUM_CACHE_UNAVAILABLE: { status: 503, meaning: 'The session store (Redis) cannot be reached.' },
  VALLUM_ROUTE_NOT_FOUND: { status: 404, meaning: 'No route is configured for the host and path, or there is no such Vallum page.' },
  VALLUM_REQUEST_FRAMING_INVALID: {
    status: 400,
    meaning: 'The request is framed ambiguously (e.g. both Content-Length and Transfer-Encoding); the connection is closed.',
  },
  VALLUM_UPSTREAM_UNAVAILABLE: {
    status: 502,
    meaning: 'The application behind the route cannot be reached or reset the connection; every endpoint is tried first, ejected ones included.',
  },
  VALLUM_UPSTREAM_TIMEOUT: { status: 504, meaning: 'The application behind the route did not answer in time.' },
  VALLUM_CLIENT_ABORTED: {
    status: 499,
    meaning: 'The client closed its connection before the response was complete; logged at debug, never answered (no one is left to read it).',
  },
  VALLUM_RATE_LIMITED: { status: 429, meaning: 'Too many requests from this user or address; Retry-After says when to try again.' },
  VALLUM_REQUEST_BODY_TOO_LARGE: { status: 413, meaning: "The request body is larger than the route's max_request_body_bytes." },
  VALLUM_UNSUPPORTED_CONTENT_ENCODING: { status: 415, meaning: 'A compressed request body was sent where Vallum does not accept one.' },
  VALLUM_WORKER_EXITED: {
    status: 500,
    meaning: 'A worker process of `vallum --workers` exited before it listened, so Vallum did not start; the worker printed why just before.',
  },
  VALLUM_CLIENT_CERTIFICATE_REQUIRED: {
    status: 495,
    meaning: 'The route requires a client certificate (downstream_mtls) and the connection presented none; configure the client with one.',
  },
  VALLUM_CLIENT_CERTIFICATE_INVALID: {
    status: 495,
    meaning:
      'The client certificate is not accepted: issued by a CA not in downstream_mtls.ca_file, revoked (crl_file), expired, or its chain longer than max_verify_depth.',
  },
});

const KNOWN: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && KNOWN.has(value);
}
