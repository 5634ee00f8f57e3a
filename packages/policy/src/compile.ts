// Validates a policy value and compiles it, once, into closures that evaluation calls per request.
import { findCriterion, suggestCriterion, CRITERION_NAMES, type CompiledCriterion } from './criteria/index.js';
import { PolicyError, type PolicyIssue } from './issues.js';
import { parsePolicy, type ExprNode, type OperatorNode } from './parse.js';
import { didYouMean } from '@vallum/errors';
import { reason, ReasonCodes } from './reasons.js';
import { buildIndex, candidates, keysOfAll, keysOfAny, type IdentityIndex, type IdentityKey } from './identity-index.js';
import type { Identity, Reason, RequestInfo } from './types.js';

/** One compiled operator or criterion. Every node has the same properties, in the same order (see `compiledNode`). */
export interface CompiledNode {
  test(identity: Identity, request: RequestInfo, now: number): boolean;
  /** Same result as `test`, pushing why onto `out`: `use` picks the wording of matched criteria (allow or deny block). */
  explain(identity: Identity, request: RequestInfo, now: number, use: 'ok' | 'denied', out: Reason[]): boolean;
  /**
   * The reasons `explain` gives for a node the caller has just seen match, in a new array: a copy of `fixedReasons`
   * where there are some, so a decision does not test its rule a second time to explain it. Call it as a method.
   */
  reasonsWhenMatched(identity: Identity, request: RequestInfo, now: number, use: 'ok' | 'denied'): Reason[];
  /** Its reasons when it matched, when the same for every input: not for an `or` whose items differ in theirs, nor an `and` holding one. */
  readonly fixedReasons: FixedReasons | undefined;
  /** What it asks for, for negations: "member of group contractors". */
  readonly description: string;
  /** The identity values it needs, when it can only match an identity holding one of them. */
  readonly keys: readonly IdentityKey[] | undefined;
}

export interface FixedReasons {
  readonly ok: readonly Reason[];
  readonly denied: readonly Reason[];
}

export interface CompiledPolicy {
  /** Blocks: any one allows. */
  readonly allow: readonly CompiledNode[];
  /** Blocks: any one denies, and deny wins. */
  readonly deny: readonly CompiledNode[];
  /** false: shadow mode (would-deny decisions allow, and say so). */
  readonly enforce: boolean;
  /** The earliest time after `now` at which a time-based criterion could change its answer; Infinity when none can. */
  nextChange(now: number): number;
  /** Whether a `header/<name>` criterion reads the request headers (which a decision cache does not key on). */
  readonly readsHeaders: boolean;
  /** The allow and deny blocks by the identity values they need; absent, every block is tested in turn. */
  readonly allowIndex?: IdentityIndex;
  readonly denyIndex?: IdentityIndex;
}

export interface CompileOptions {
  /** Named policies `use: NAME` may refer to; without it `use` is only checked for shape. */
  named?: ReadonlyMap<string, CompiledPolicy>;
}

/** Throws a PolicyError listing every problem, each with its path inside the policy value. */
export function compilePolicy(value: unknown, options: CompileOptions = {}): CompiledPolicy {
  return compileOrThrow(value, options, true);
}

/** The same policy with no index: every rule tested in turn. The reference the index is tested against. */
export function compileLinear(value: unknown, options: CompileOptions = {}): CompiledPolicy {
  return compileOrThrow(value, options, false);
}

function compileOrThrow(value: unknown, options: CompileOptions, indexed: boolean): CompiledPolicy {
  const { policy, issues } = compile(value, options, indexed);
  if (policy) return policy;
  // Only `use` without named policies to resolve it leaves no policy and no issue.
  throw new PolicyError(issues.length > 0 ? issues : [{ path: ['use'], message: 'use: there are no named policies here to resolve it against' }]);
}

/** Every problem in a policy value; empty when it compiles. */
export function validatePolicy(value: unknown, options: CompileOptions = {}): PolicyIssue[] {
  return compile(value, options, false).issues;
}

const NEVER = (): number => Infinity;

function compile(value: unknown, options: CompileOptions, indexed: boolean): { policy?: CompiledPolicy; issues: PolicyIssue[] } {
  const { ast, issues } = parsePolicy(value);
  if (ast.use) {
    if (!options.named) return { issues };
    const named = options.named.get(ast.use.name);
    if (!named) {
      const names = [...options.named.keys()];
      issues.push({
        path: [...ast.use.path],
        message: `unknown named policy '${ast.use.name}'${didYouMean(ast.use.name, names)}; known: ${names.join(', ') || 'none (set policy_dir or policy_files)'}`,
      });
      return { issues };
    }
    return issues.length > 0 ? { issues } : { policy: Object.freeze({ ...named, enforce: named.enforce && ast.enforce }), issues };
  }
  const clocks: Array<(now: number) => number> = [];
  let readsHeaders = false;
  const node = (n: ExprNode): CompiledNode | undefined => {
    if (n.kind !== 'criterion') return compileOperator(n, node, indexed);
    if (n.key.startsWith('header/')) readsHeaders = true;
    return compileCriterion(n, issues, clocks);
  };
  const blocks = (list: OperatorNode[]) => Object.freeze(list.map(node).filter((b): b is CompiledNode => b !== undefined));
  const allow = blocks(ast.allow);
  const deny = blocks(ast.deny);
  if (issues.length > 0) return { issues };
  const nextChange =
    clocks.length === 0
      ? NEVER
      : (now: number) => {
          let next = Infinity;
          for (const clock of clocks) next = Math.min(next, clock(now));
          return next;
        };
  const allowIndex = indexed ? buildIndex(allow.map((b) => b.keys)) : undefined;
  const denyIndex = indexed ? buildIndex(deny.map((b) => b.keys)) : undefined;
  const policy: CompiledPolicy = {
    allow,
    deny,
    enforce: ast.enforce,
    nextChange,
    readsHeaders,
    ...(allowIndex ? { allowIndex } : {}),
    ...(denyIndex ? { denyIndex } : {}),
  };
  return { policy: Object.freeze(policy), issues };
}

function compileCriterion(n: ExprNode & { kind: 'criterion' }, issues: PolicyIssue[], clocks: Array<(now: number) => number>): CompiledNode | undefined {
  const found = findCriterion(n.key);
  if (!found) {
    const hint = suggestCriterion(n.key);
    issues.push({
      path: [...n.path],
      message: `unknown criterion '${n.key}'${hint ? ` (did you mean '${hint}'?)` : ''}; expected one of ${CRITERION_NAMES.join(', ')} or a nested and, or, not, nor`,
    });
    return undefined;
  }
  const criterion = found.definition.compile({ argument: found.argument, value: n.value, path: [...n.path, n.key] }, issues);
  if (!criterion) return undefined;
  if (criterion.nextChange) clocks.push(criterion.nextChange);
  return criterionNode(criterion);
}

function criterionNode(c: CompiledCriterion): CompiledNode {
  return compiledNode({
    test: c.matches,
    explain(identity, request, now, use, out) {
      const matched = c.matches(identity, request, now);
      out.push(matched ? c[use] : c.unauthorized);
      return matched;
    },
    fixedReasons: { ok: [c.ok], denied: [c.denied] },
    description: c.denied.message.replace(/^denied: /, ''),
    keys: c.keys,
  });
}

const NEGATION_OK = ReasonCodes.NEGATION_OK;
const NEGATION_UNAUTHORIZED = ReasonCodes.NEGATION_UNAUTHORIZED;

function compileOperator(n: OperatorNode, node: (n: ExprNode) => CompiledNode | undefined, indexed: boolean): CompiledNode | undefined {
  const compiled = n.items.map(node);
  if (compiled.some((c) => c === undefined)) return undefined;
  const items = compiled as CompiledNode[];
  const all = (identity: Identity, request: RequestInfo, now: number) => {
    if (items.length === 0) return false; // `and: []` never matches: an empty rule must not allow everyone
    for (let i = 0; i < items.length; i++) if (!items[i]!.test(identity, request, now)) return false;
    return true;
  };
  const index = indexed && n.kind !== 'and' ? buildIndex(items.map((i) => i.keys)) : undefined;
  /** The first item that matches, as a scan in order would find it; -1 when none does. */
  const firstHit = (identity: Identity, request: RequestInfo, now: number): number => {
    if (index) {
      for (const i of candidates(index, identity)) if (items[i]!.test(identity, request, now)) return i;
      return -1;
    }
    for (let i = 0; i < items.length; i++) if (items[i]!.test(identity, request, now)) return i;
    return -1;
  };
  const any = (identity: Identity, request: RequestInfo, now: number) => firstHit(identity, request, now) >= 0;
  const descriptions = items.map((i) => i.description);
  switch (n.kind) {
    case 'and': {
      const fixed = items.every((i) => i.fixedReasons !== undefined);
      return compiledNode({
        test: all,
        explain(identity, request, now, use, out) {
          for (const item of items) {
            if (item.test(identity, request, now)) continue;
            item.explain(identity, request, now, use, out);
            return false;
          }
          for (const item of items) item.explain(identity, request, now, use, out);
          return items.length > 0;
        },
        ...(fixed
          ? { fixedReasons: { ok: concatFixed(items, 'ok'), denied: concatFixed(items, 'denied') } }
          : {
              fixedReasons: undefined,
              reasonsWhenMatched(identity: Identity, request: RequestInfo, now: number, use: 'ok' | 'denied') {
                const out: Reason[] = [];
                for (const item of items) out.push(...item.reasonsWhenMatched(identity, request, now, use));
                return out;
              },
            }),
        description: listOf(descriptions, 'and'),
        keys: keysOfAll(items.map((i) => i.keys)),
      });
    }
    case 'or':
      return compiledNode({
        test: any,
        explain(identity, request, now, use, out) {
          const hit = firstHit(identity, request, now);
          if (hit >= 0) return items[hit]!.explain(identity, request, now, use, out);
          for (const item of items) item.explain(identity, request, now, use, out);
          return false;
        },
        // Unless every item gives the same reasons (an `or` of addresses), which item matched decides them, so this
        // tests again, up to the item that matches.
        fixedReasons: commonFixedReasons(items),
        reasonsWhenMatched(identity, request, now, use) {
          const hit = firstHit(identity, request, now);
          return hit >= 0 ? items[hit]!.reasonsWhenMatched(identity, request, now, use) : [];
        },
        description: listOf(descriptions, 'or'),
        keys: keysOfAny(items.map((i) => i.keys)),
      });
    case 'not':
    case 'nor': {
      // not: not all of them (NAND); nor: none of them (NOR).
      const inner = n.kind === 'not' ? listOf(descriptions, 'and') : listOf(descriptions, 'or');
      const description = `not ${inner}`;
      const ok = reason(NEGATION_OK, `allowed: ${description}`);
      const unauthorized = reason(NEGATION_UNAUTHORIZED, `requires ${description}`);
      const denied = reason(ReasonCodes.DENY_MATCHED, `denied: ${description}`);
      const test = n.kind === 'not' ? (i: Identity, r: RequestInfo, t: number) => !all(i, r, t) : (i: Identity, r: RequestInfo, t: number) => !any(i, r, t);
      return compiledNode({
        test,
        explain(identity, request, now, use, out) {
          const matched = test(identity, request, now);
          out.push(matched ? (use === 'ok' ? ok : denied) : unauthorized);
          return matched;
        },
        fixedReasons: { ok: [ok], denied: [denied] },
        description,
        keys: undefined,
      });
    }
  }
}

type NodeParts = Omit<CompiledNode, 'reasonsWhenMatched'> & { reasonsWhenMatched?: CompiledNode['reasonsWhenMatched'] };

/**
 * Nodes of every kind share one object shape, so the calls that walk a policy's tree stay monomorphic in V8 however
 * many kinds of rule the routes mix. With fixed reasons, `reasonsWhenMatched` copies them.
 */
function compiledNode(parts: NodeParts): CompiledNode {
  const given = parts.fixedReasons;
  const fixed = given && (Object.isFrozen(given) ? given : Object.freeze({ ok: Object.freeze(given.ok), denied: Object.freeze(given.denied) }));
  const reasonsWhenMatched = fixed ? copyFixedReasons : parts.reasonsWhenMatched!;
  return Object.freeze({
    test: parts.test,
    explain: parts.explain,
    reasonsWhenMatched,
    fixedReasons: fixed,
    description: parts.description,
    keys: parts.keys,
  });
}

/**
 * The items' fixed reasons one after another, in an array of exactly their length: flatMap showed in the time to
 * compile 10,000 rules, and push() leaves room for 17, which a policy of 100,000 rules keeps twice per block.
 */
function concatFixed(items: readonly CompiledNode[], use: 'ok' | 'denied'): Reason[] {
  let length = 0;
  for (const item of items) length += item.fixedReasons![use].length;
  const out = new Array<Reason>(length);
  let k = 0;
  for (const item of items) for (const r of item.fixedReasons![use]) out[k++] = r;
  return out;
}

/** The items' fixed reasons when every item has the same ones: then they are the reasons whichever item matched. */
function commonFixedReasons(items: readonly CompiledNode[]): FixedReasons | undefined {
  const first = items[0]?.fixedReasons;
  if (!first) return undefined;
  const same = (a: readonly Reason[], b: readonly Reason[]) => a.length === b.length && a.every((r, i) => r.code === b[i]!.code && r.message === b[i]!.message);
  for (const item of items) {
    const fixed = item.fixedReasons;
    if (!fixed || !same(fixed.ok, first.ok) || !same(fixed.denied, first.denied)) return undefined;
  }
  return first;
}

/** `reasonsWhenMatched` of a node with fixed reasons: a copy the caller may change (one function for every node). */
function copyFixedReasons(this: CompiledNode, _identity: Identity, _request: RequestInfo, _now: number, use: 'ok' | 'denied'): Reason[] {
  const reasons = use === 'ok' ? this.fixedReasons!.ok : this.fixedReasons!.denied;
  // Not slice(): V8 takes its slow path for a frozen array.
  const out: Reason[] = [];
  for (let i = 0; i < reasons.length; i++) out.push(reasons[i]!);
  return out;
}

function listOf(words: readonly string[], conjunction: 'and' | 'or'): string {
  if (words.length <= 1) return words.join('');
  return `(${words.join(` ${conjunction} `)})`;
}
