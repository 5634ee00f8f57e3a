// The reason codes a decision carries. Callers (the proxy's 403 page, the sign-in redirect) branch on the code;
// the message is a sentence safe to show the user.
import type { Reason } from './types.js';

export const ReasonCodes = {
  EMAIL_OK: 'email-ok',
  EMAIL_UNAUTHORIZED: 'email-unauthorized',
  DOMAIN_OK: 'domain-ok',
  DOMAIN_UNAUTHORIZED: 'domain-unauthorized',
  GROUPS_OK: 'groups-ok',
  GROUPS_UNAUTHORIZED: 'groups-unauthorized',
  CLAIM_OK: 'claim-ok',
  CLAIM_UNAUTHORIZED: 'claim-unauthorized',
  USER_OK: 'user-ok',
  USER_ID_OK: 'user-id-ok',
  USER_ID_UNAUTHORIZED: 'user-id-unauthorized',
  ACCEPT: 'accept',
  REJECT: 'reject',
  HTTP_METHOD_OK: 'http-method-ok',
  HTTP_METHOD_UNAUTHORIZED: 'http-method-unauthorized',
  HTTP_PATH_OK: 'http-path-ok',
  HTTP_PATH_UNAUTHORIZED: 'http-path-unauthorized',
  SOURCE_IP_OK: 'source-ip-ok',
  SOURCE_IP_UNAUTHORIZED: 'source-ip-unauthorized',
  HEADER_OK: 'header-ok',
  HEADER_UNAUTHORIZED: 'header-unauthorized',
  TIME_OK: 'time-ok',
  TIME_UNAUTHORIZED: 'time-unauthorized',
  AUTH_AGE_OK: 'auth-age-ok',
  AUTH_AGE_UNAUTHORIZED: 'auth-age-unauthorized',
  ACR_OK: 'acr-ok',
  ACR_UNAUTHORIZED: 'acr-unauthorized',
  CLIENT_CERTIFICATE_OK: 'client-certificate-ok',
  CLIENT_CERTIFICATE_UNAUTHORIZED: 'client-certificate-unauthorized',
  USER_UNAUTHENTICATED: 'user-unauthenticated',
  NEGATION_OK: 'negation-ok',
  NEGATION_UNAUTHORIZED: 'negation-unauthorized',
  SHADOW_ALLOW: 'shadow-allow',
  DENY_MATCHED: 'deny-matched',
  NO_RULE_MATCHED: 'no-rule-matched',
  PUBLIC_ROUTE: 'public-route',
  ROUTE_UNKNOWN: 'route-unknown',
} as const;

export type ReasonCode = (typeof ReasonCodes)[keyof typeof ReasonCodes];

/** Reasons are built once at compile time and shared by every decision, so they are frozen. */
export function reason(code: ReasonCode, message: string): Reason {
  return Object.freeze({ code, message });
}

export const USER_OK = reason(ReasonCodes.USER_OK, 'signed in');
export const USER_UNAUTHENTICATED = reason(ReasonCodes.USER_UNAUTHENTICATED, 'sign in required');
export const NO_RULE_MATCHED = reason(ReasonCodes.NO_RULE_MATCHED, 'no allow rule matched');
export const PUBLIC_ROUTE = reason(ReasonCodes.PUBLIC_ROUTE, 'public route');
export const SHADOW_ALLOW = reason(ReasonCodes.SHADOW_ALLOW, 'allowed: policy not enforced (shadow mode); would have been denied');
