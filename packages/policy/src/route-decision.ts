// A route's whole access rule: public, the global policy, then any signed-in user or the route's policy; deny wins
// everywhere, and a stage with enforce: false only reports what it would have denied.
import type { CompiledPolicy } from './compile.js';
import { decide, evaluatePolicy, matchDeny, shadowed } from './evaluate.js';
import { NO_RULE_MATCHED, PUBLIC_ROUTE, USER_OK, USER_UNAUTHENTICATED } from './reasons.js';
import type { Decision, Identity, RequestInfo } from './types.js';

export interface RouteAccess {
  allowPublicUnauthenticatedAccess: boolean;
  allowAnyAuthenticatedUser: boolean;
  policy?: CompiledPolicy | undefined;
  /** Applied before the route's own rule on every non-public route. */
  global?: CompiledPolicy | undefined;
  /** The route's `enforce` (default true); false is shadow mode for the route's own rule. */
  enforce?: boolean;
}

export function routeDecision(route: RouteAccess, identity: Identity | null, request: RequestInfo, now = Date.now()): Decision {
  if (route.allowPublicUnauthenticatedAccess) return { allow: true, reasons: [PUBLIC_ROUTE] };
  if (!identity) return { allow: false, reasons: [USER_UNAUTHENTICATED] };
  let shadow: Decision | undefined;
  if (route.global) {
    const global = shadowed(decide(route.global, identity, request, now, true), route.global.enforce, identity);
    if (!global.allow) return global;
    if (global.shadow) shadow = global;
  }
  let own: Decision;
  if (route.allowAnyAuthenticatedUser) {
    const enforce = route.enforce !== false && (route.policy?.enforce ?? true);
    own = shadowed((route.policy && matchDeny(route.policy, identity, request, now)) ?? { allow: true, reasons: [USER_OK] }, enforce, identity);
  } else if (route.policy) {
    own =
      route.enforce === false
        ? shadowed(evaluatePolicy(route.policy, identity, request, now), false, identity)
        : evaluatePolicy(route.policy, identity, request, now);
  } else {
    // Config validation refuses a route without a rule; should one get here anyway, it stays closed.
    own = { allow: false, reasons: [NO_RULE_MATCHED] };
  }
  if (shadow && own.allow && !own.shadow) return { allow: true, shadow: true, reasons: [...shadow.reasons, ...own.reasons] };
  return own;
}
