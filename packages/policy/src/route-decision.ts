// A route's whole access rule: public, any signed-in user, or a policy; a policy's deny wins over
// allow_any_authenticated_user.
import type { CompiledPolicy } from './compile.js';
import { evaluatePolicy, matchDeny } from './evaluate.js';
import { NO_RULE_MATCHED, PUBLIC_ROUTE, USER_OK, USER_UNAUTHENTICATED } from './reasons.js';
import type { Decision, Identity, RequestInfo } from './types.js';

export interface RouteAccess {
  allowPublicUnauthenticatedAccess: boolean;
  allowAnyAuthenticatedUser: boolean;
  policy?: CompiledPolicy | undefined;
}

export function routeDecision(route: RouteAccess, identity: Identity | null, request: RequestInfo, now = Date.now()): Decision {
  if (route.allowPublicUnauthenticatedAccess) return { allow: true, reasons: [PUBLIC_ROUTE] };
  if (route.allowAnyAuthenticatedUser) {
    if (!identity) return { allow: false, reasons: [USER_UNAUTHENTICATED] };
    return (route.policy && matchDeny(route.policy, identity, request, now)) ?? { allow: true, reasons: [USER_OK] };
  }
  if (route.policy) return evaluatePolicy(route.policy, identity, request, now);
  // Config validation refuses a route without a rule; should one get here anyway, it stays closed.
  return { allow: false, reasons: [NO_RULE_MATCHED] };
}
