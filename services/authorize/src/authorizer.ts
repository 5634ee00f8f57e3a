// The authorize service's core, usable in-process (all-in-one mode) or behind POST /v1/evaluate: every route's
// policy compiled once at construction, then one pure decision per request, logged once.
import { VallumError, ErrorCodes } from '@vallum/errors';
import type { ConfigCheck, ConfigIssue, VallumConfig } from '@vallum/config';
import { compilePolicy, PolicyError, ReasonCodes, routeDecision, validatePolicy, type Decision, type RouteAccess } from '@vallum/policy';
import type { AuthorizeApi, AuthorizeRequest } from '@vallum/service-client';

/** The one decision log line; field names follow @vallum/telemetry's LogFields. */
export interface DecisionLogLine {
  route: string;
  user: string | null;
  decision: 'allow' | 'deny';
  reasons: string[];
}

/** Satisfied by a pino / fastify logger. */
export interface DecisionLogger {
  info(line: DecisionLogLine, message: string): void;
}

export interface AuthorizerDeps {
  /** Where `evaluate` logs its decisions; none when absent. */
  logger?: DecisionLogger;
  now?: () => number;
}

export interface Authorizer extends AuthorizeApi {
  /** The decision, logged to `logger` (e.g. the request's logger) instead of the authorizer's own. */
  decide(input: AuthorizeRequest, logger?: DecisionLogger): Decision;
}

const ROUTE_UNKNOWN = Object.freeze({ code: ReasonCodes.ROUTE_UNKNOWN, message: 'unknown route' });

/** Throws a VallumError (VALLUM_POLICY_INVALID) listing every policy problem as `file:line:col: message`. */
export function createAuthorizer(config: VallumConfig, deps: AuthorizerDeps = {}): Authorizer {
  const routes = compileRoutes(config);
  const now = deps.now ?? Date.now;

  const decide = (input: AuthorizeRequest, logger?: DecisionLogger): Decision => {
    const route = routes.get(input.routeId);
    const decision = route ? routeDecision(route, input.identity, input.request, now()) : { allow: false, reasons: [ROUTE_UNKNOWN] };
    logger?.info(
      {
        route: input.routeId,
        user: input.identity?.email ?? null,
        decision: decision.allow ? 'allow' : 'deny',
        reasons: decision.reasons.map((r) => r.code),
      },
      'authorize decision',
    );
    return decision;
  };

  return {
    decide,
    evaluate: async (input) => decide(input, deps.logger),
  };
}

function compileRoutes(config: VallumConfig): ReadonlyMap<string, RouteAccess> {
  const routes = new Map<string, RouteAccess>();
  const problems: string[] = [];
  for (const route of config.routes) {
    const access: RouteAccess = {
      allowPublicUnauthenticatedAccess: route.allowPublicUnauthenticatedAccess,
      allowAnyAuthenticatedUser: route.allowAnyAuthenticatedUser,
    };
    if (route.policy !== undefined) {
      try {
        access.policy = compilePolicy(route.policy);
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err;
        for (const issue of err.issues) problems.push(`${config.locate([...route.policyPath, ...issue.path])}: ${issue.message}`);
        continue;
      }
    }
    routes.set(route.id, Object.freeze(access));
  }
  if (problems.length > 0) {
    throw new VallumError(ErrorCodes.POLICY_INVALID, `invalid policy in ${config.file}:\n${problems.join('\n')}`, {
      status: 500,
      expose: false,
      details: { problems },
    });
  }
  return routes;
}

/** For `loadConfigFile(file, { checks: [policyConfigCheck] })`: bad policies fail the load with file:line:col. */
export const policyConfigCheck: ConfigCheck = (raw) => {
  const issues: ConfigIssue[] = [];
  raw.routes.forEach((route, i) => {
    if (route.policy === undefined) return;
    for (const issue of validatePolicy(route.policy)) issues.push({ path: ['routes', i, 'policy', ...issue.path], message: issue.message });
  });
  return issues;
};
