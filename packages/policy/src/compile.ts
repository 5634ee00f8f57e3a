// Validates a policy value and compiles it, once, into closures that evaluation calls per request.
import { findCriterion, suggestCriterion, CRITERION_NAMES, type CompiledCriterion } from './criteria/index.js';
import { PolicyError, type PolicyIssue } from './issues.js';
import { parsePolicy, type BlockNode, type CriterionNode } from './parse.js';

export interface CompiledBlock {
  /** Every criterion must match; an empty list never matches. */
  readonly and: readonly CompiledCriterion[] | undefined;
  /** At least one criterion must match. */
  readonly or: readonly CompiledCriterion[] | undefined;
}

export interface CompiledPolicy {
  readonly allow: readonly CompiledBlock[];
  readonly deny: readonly CompiledBlock[];
}

/** Throws a PolicyError listing every problem, each with its path inside the policy value. */
export function compilePolicy(value: unknown): CompiledPolicy {
  const { policy, issues } = compile(value);
  if (!policy) throw new PolicyError(issues);
  return policy;
}

/** Every problem in a policy value; empty when it compiles. */
export function validatePolicy(value: unknown): PolicyIssue[] {
  return compile(value).issues;
}

function compile(value: unknown): { policy?: CompiledPolicy; issues: PolicyIssue[] } {
  const { ast, issues } = parsePolicy(value);
  const block = (node: BlockNode): CompiledBlock =>
    Object.freeze({ and: compileCriteria(node.and, issues), or: compileCriteria(node.or, issues) });
  const policy: CompiledPolicy = Object.freeze({
    allow: Object.freeze(ast.allow.map(block)),
    deny: Object.freeze(ast.deny.map(block)),
  });
  return issues.length > 0 ? { issues } : { policy, issues };
}

function compileCriteria(nodes: CriterionNode[] | undefined, issues: PolicyIssue[]): readonly CompiledCriterion[] | undefined {
  if (!nodes) return undefined;
  const compiled: CompiledCriterion[] = [];
  for (const node of nodes) {
    const found = findCriterion(node.key);
    if (!found) {
      const hint = suggestCriterion(node.key);
      const nested = node.key === 'and' || node.key === 'or' ? '; and/or cannot nest: use a list of blocks' : '';
      issues.push({
        path: [...node.path],
        message: `unknown criterion '${node.key}'${hint ? ` (did you mean '${hint}'?)` : ''}${nested}; expected one of ${CRITERION_NAMES.join(', ')}`,
      });
      continue;
    }
    const criterion = found.definition.compile({ argument: found.argument, value: node.value, path: [...node.path, node.key] }, issues);
    if (criterion) compiled.push(criterion);
  }
  return Object.freeze(compiled);
}
