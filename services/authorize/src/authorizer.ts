// The authorize service's core, usable in-process (all-in-one mode) or behind POST /v1/evaluate: every route's
// policy compiled once at construction, then one pure decision per request, logged once.
import { VallumError, ErrorCodes } from '@vallum/errors';
import { compilePolicies, type VallumConfig } from '@vallum/config';
import { ReasonCodes, routeDecision, type Decision, type RouteAccess } from '@vallum/policy';
import type { AuthorizeApi, AuthorizeRequest } from '@vallum/service-client';
import type { CounterChild, VallumMetrics } from '@vallum/telemetry';

/** The one decision log line; field names follow @vallum/telemetry's LogFields. */
export interface DecisionLogLine {
  route: string;
  user: string | null;
  decision: 'allow' | 'deny' | 'would-deny';
  reasons: string[];
  request_id?: string;
  /** Shadow mode: how many would-deny decisions this route has had since the policy was loaded. */
  shadow_denials?: number;
}

/** Satisfied by a pino / fastify logger. */
export interface DecisionLogger {
  info(line: DecisionLogLine, message: string): void;
  /** pino's: when info is off, the line is not even built. */
  isLevelEnabled?(level: string): boolean;
}

export interface AuthorizerDeps {
  /** Where `evaluate` logs its decisions; none when absent. */
  logger?: DecisionLogger;
  now?: () => number;
  /** Counts decisions by result and first reason; none when absent. */
  metrics?: VallumMetrics | undefined;
}

export interface Authorizer extends AuthorizeApi {
  /** The decision, logged to `logger` (e.g. the request's logger) instead of the authorizer's own. */
  decide(input: AuthorizeRequest, logger?: DecisionLogger): Decision;
  /** The decision and what each stage (global policy, route) said, without logging: for `policy explain`. */
  explain(input: AuthorizeRequest, at?: number): Explanation;
  /** Would-deny decisions on a route with enforce: false, since this authorizer was built. */
  shadowDenials(routeId: string): number;
  policyVersion: string;
}

export interface Explanation {
  routeId: string;
  policyVersion: string;
  /** What the proxy would be told. */
  decision: Decision;
  /** The global policy's own verdict, when there is one. */
  global?: Decision;
  /** The route's own rule without the global policy. */
  route?: Decision;
}

const ROUTE_UNKNOWN = Object.freeze({ code: ReasonCodes.ROUTE_UNKNOWN, message: 'unknown route' });

/** Throws a VallumError (VALLUM_POLICY_INVALID) listing every policy problem as `file:line:col: message`. */
export function createAuthorizer(config: VallumConfig, deps: AuthorizerDeps = {}): Authorizer {
  const { compiled, problems } = compilePolicies(config);
  if (!compiled) {
    const lines = problems.map((p) => `${p.location}: ${p.message}`);
    throw new VallumError(ErrorCodes.POLICY_INVALID, `invalid policy in ${config.file}:\n${lines.join('\n')}`, {
      status: 500,
      expose: false,
      details: { problems: lines },
    });
  }
  const { routes, version } = compiled;
  const now = deps.now ?? Date.now;
  const shadowDenials = new Map<string, number>();
  const countDecision = deps.metrics && decisionCounter(deps.metrics);

  const decide = (input: AuthorizeRequest, logger?: DecisionLogger): Decision => {
    const requestId = input.requestId;
    const route = routes.get(input.routeId);
    const at = now();
    const decision: Decision = route ? routeDecision(route, input.identity, input.request, at) : { allow: false, reasons: [ROUTE_UNKNOWN] };
    decision.policyVersion = version;
    const until = route && !decision.shadow ? cacheableUntil(route, at) : undefined;
    if (until !== undefined) decision.cacheableUntil = until;
    if (decision.shadow) shadowDenials.set(input.routeId, (shadowDenials.get(input.routeId) ?? 0) + 1);
    countDecision?.(decision);
    if (logger && logger.isLevelEnabled?.('info') !== false)
      logger.info(
        {
          route: input.routeId,
          user: input.identity?.email ?? null,
          decision: decision.shadow ? 'would-deny' : decision.allow ? 'allow' : 'deny',
          reasons: decision.reasons.map((r) => r.code),
          ...(requestId ? { request_id: requestId } : {}),
          ...(decision.shadow ? { shadow_denials: shadowDenials.get(input.routeId) } : {}),
        },
        decision.shadow ? 'authorize decision (shadow mode: would deny)' : 'authorize decision',
      );
    return decision;
  };

  return {
    decide,
    evaluate: async (input) => decide(input, deps.logger),
    peek: (input) => decide(input, deps.logger),
    readsHeaders: (routeId) => {
      const route = routes.get(routeId);
      return route === undefined || route.policy?.readsHeaders === true || route.global?.readsHeaders === true;
    },
    explain(input, at = now()) {
      const route = routes.get(input.routeId);
      if (!route) return { routeId: input.routeId, policyVersion: version, decision: { allow: false, reasons: [ROUTE_UNKNOWN] } };
      const explanation: Explanation = { routeId: input.routeId, policyVersion: version, decision: routeDecision(route, input.identity, input.request, at) };
      if (route.global)
        explanation.global = routeDecision({ ...route, policy: undefined, allowAnyAuthenticatedUser: true, enforce: true }, input.identity, input.request, at);
      if (route.global || route.allowAnyAuthenticatedUser)
        explanation.route = routeDecision({ ...route, global: undefined }, input.identity, input.request, at);
      return explanation;
    },
    shadowDenials: (routeId) => shadowDenials.get(routeId) ?? 0,
    policyVersion: version,
  };
}

/** Counts a decision on a child kept per result and reason code (both bounded: three results, the reason codes). */
function decisionCounter(metrics: VallumMetrics): (decision: Decision) => void {
  const results = { allow: new Map<string, CounterChild>(), deny: new Map<string, CounterChild>(), 'would-deny': new Map<string, CounterChild>() };
  return (decision) => {
    const result = decision.shadow ? 'would-deny' : decision.allow ? 'allow' : 'deny';
    const reason = decision.reasons[0]?.code ?? 'none';
    const children = results[result];
    let child = children.get(reason);
    if (child === undefined) children.set(reason, (child = metrics.decisions.child({ result, reason })));
    child.inc();
  };
}

/** How long a proxy may reuse a decision at most, even when no time-based criterion bounds it. */
export const DECISION_TTL_MS = 30_000;

/**
 * Until when the same input gets the same decision: never past a time-based criterion's next boundary; never
 * when a policy reads request headers (the proxy's cache does not key on them); shadow decisions are each counted.
 */
function cacheableUntil(route: RouteAccess, now: number): number | undefined {
  if (route.policy?.readsHeaders || route.global?.readsHeaders) return undefined;
  return Math.min(now + DECISION_TTL_MS, route.policy?.nextChange(now) ?? Infinity, route.global?.nextChange(now) ?? Infinity);
}
