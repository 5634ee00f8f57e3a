// Pure evaluation of a compiled policy: deny wins, then any allow block, else deny (fail closed).
import type { CompiledBlock, CompiledPolicy } from './compile.js';
import { NO_RULE_MATCHED, USER_UNAUTHENTICATED } from './reasons.js';
import type { Decision, Identity, Reason, RequestInfo } from './types.js';

interface BlockResult {
  matched: boolean;
  /** The matched criteria's ok/denied reasons, or what the block required. */
  reasons: Reason[];
}

const NO_MATCH: BlockResult = Object.freeze({ matched: false, reasons: [] });

export function evaluatePolicy(policy: CompiledPolicy, identity: Identity | null, request: RequestInfo, now = Date.now()): Decision {
  // An anonymous request matches no criterion, so it can only be denied; saying so lets the proxy offer sign-in.
  if (!identity) return { allow: false, reasons: [USER_UNAUTHENTICATED] };
  const denied = matchDeny(policy, identity, request, now);
  if (denied) return denied;
  const required: Reason[] = [];
  for (const block of policy.allow) {
    const result = evaluateBlock(block, identity, request, now, 'ok');
    if (result.matched) return { allow: true, reasons: result.reasons };
    for (const r of result.reasons) {
      if (!required.some((seen) => seen.code === r.code && seen.message === r.message)) required.push(r);
    }
  }
  required.push(NO_RULE_MATCHED);
  return { allow: false, reasons: required };
}

/** The deny decision of the first deny block the identity matches, if any. */
export function matchDeny(policy: CompiledPolicy, identity: Identity, request: RequestInfo, now: number): Decision | undefined {
  for (const block of policy.deny) {
    const result = evaluateBlock(block, identity, request, now, 'denied');
    if (result.matched) return { allow: false, reasons: result.reasons };
  }
  return undefined;
}

/** A block holding both `and` and `or` matches only when both do. */
function evaluateBlock(block: CompiledBlock, identity: Identity, request: RequestInfo, now: number, use: 'ok' | 'denied'): BlockResult {
  if (!block.and && !block.or) return NO_MATCH;
  const reasons: Reason[] = [];
  if (block.and) {
    if (block.and.length === 0) return NO_MATCH;
    for (const criterion of block.and) {
      if (!criterion.matches(identity, request, now)) return { matched: false, reasons: [criterion.unauthorized] };
      reasons.push(criterion[use]);
    }
  }
  if (block.or) {
    const hit = block.or.find((criterion) => criterion.matches(identity, request, now));
    if (!hit) return { matched: false, reasons: block.or.map((criterion) => criterion.unauthorized) };
    reasons.push(hit[use]);
  }
  return { matched: true, reasons };
}
