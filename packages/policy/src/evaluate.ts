// Pure evaluation of a compiled policy: deny wins, then any allow block, else deny (fail closed).
import type { CompiledNode, CompiledPolicy } from './compile.js';
import { candidates, type IdentityIndex } from './identity-index.js';
import { NO_RULE_MATCHED, SHADOW_ALLOW, USER_UNAUTHENTICATED } from './reasons.js';
import type { Decision, Identity, Reason, RequestInfo } from './types.js';

/** At most this many requirements (then no-rule-matched) in a refusal. */
export const MAX_REQUIRED = 10;

export function evaluatePolicy(policy: CompiledPolicy, identity: Identity | null, request: RequestInfo, now = Date.now()): Decision {
  return shadowed(decide(policy, identity, request, now, false), policy.enforce, identity);
}

/**
 * The decision before shadow mode; `passWithoutAllow` lets a policy holding only deny blocks pass (the global policy
 * and a route with allow_any_authenticated_user add their deny to someone else's allow).
 */
export function decide(policy: CompiledPolicy, identity: Identity | null, request: RequestInfo, now: number, passWithoutAllow: boolean): Decision {
  // An anonymous request matches no criterion, so it can only be denied; saying so lets the proxy offer sign-in.
  if (!identity) return { allow: false, reasons: [USER_UNAUTHENTICATED] };
  const denied = matchDeny(policy, identity, request, now);
  if (denied) return denied;
  if (passWithoutAllow && policy.allow.length === 0) return { allow: true, reasons: [] };
  const allowed = firstMatch(policy.allow, policy.allowIndex, identity, request, now);
  if (allowed) return { allow: true, reasons: allowed.reasonsWhenMatched(identity, request, now, 'ok') };
  const required: Reason[] = [];
  const seen = new Set<string>();
  const scratch: Reason[] = [];
  for (const block of policy.allow) {
    scratch.length = 0;
    block.explain(identity, request, now, 'ok', scratch);
    for (const r of scratch) {
      const key = `${r.code}\0${r.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      required.push(r);
    }
    // A refusal is read by a person: a few requirements help, ten thousand do not.
    if (required.length >= MAX_REQUIRED) break;
  }
  required.push(NO_RULE_MATCHED);
  return { allow: false, reasons: required };
}

/** The deny decision of the first deny block the identity matches, if any. */
export function matchDeny(policy: CompiledPolicy, identity: Identity, request: RequestInfo, now: number): Decision | undefined {
  const denied = firstMatch(policy.deny, policy.denyIndex, identity, request, now);
  return denied && { allow: false, reasons: denied.reasonsWhenMatched(identity, request, now, 'denied') };
}

/** The first block that matches, in order; the index only skips blocks that cannot match this identity. */
function firstMatch(
  blocks: readonly CompiledNode[],
  index: IdentityIndex | undefined,
  identity: Identity,
  request: RequestInfo,
  now: number,
): CompiledNode | undefined {
  if (index) {
    for (const i of candidates(index, identity)) if (blocks[i]!.test(identity, request, now)) return blocks[i];
    return undefined;
  }
  for (let i = 0; i < blocks.length; i++) if (blocks[i]!.test(identity, request, now)) return blocks[i];
  return undefined;
}

/** Shadow mode: a signed-in user's would-deny is allowed, marked, and keeps the reasons it would have been denied for. */
export function shadowed(decision: Decision, enforce: boolean, identity: Identity | null): Decision {
  if (decision.allow || enforce || !identity) return decision;
  return { allow: true, shadow: true, reasons: [SHADOW_ALLOW, ...decision.reasons] };
}
