// Checks the shape of a policy value (allow/deny → operator blocks → criteria or nested operators) and turns it into
// a tree the compiler walks. What a criterion's value means is left to the criterion itself.
import { isRecord, type PolicyIssue, type PolicyPath } from './issues.js';
import { didYouMean } from '@vallum/errors';

export const OPERATORS = ['and', 'or', 'not', 'nor'] as const;
export type Operator = (typeof OPERATORS)[number];
export const POLICY_KEYS = ['allow', 'deny', 'use', 'enforce'] as const;

export interface CriterionNode {
  kind: 'criterion';
  /** As written, e.g. `email` or `claim/department`. */
  key: string;
  value: unknown;
  /** Path of the one-key item (`- email: …`), which locates the criterion's name. */
  path: PolicyPath;
}

export interface OperatorNode {
  kind: Operator;
  items: ExprNode[];
  path: PolicyPath;
}

export type ExprNode = CriterionNode | OperatorNode;

export interface PolicyAst {
  /** Each block is an `and` of the operators it holds (`{and: …, or: …}` needs both). */
  allow: OperatorNode[];
  deny: OperatorNode[];
  /** `use: NAME`: the whole policy is the named policy NAME. */
  use?: { name: string; path: PolicyPath };
  /** `enforce: false`: shadow mode, would-deny decisions allow but are logged and counted. */
  enforce: boolean;
}

const isOperator = (key: string): key is Operator => (OPERATORS as readonly string[]).includes(key);

export function parsePolicy(value: unknown): { ast: PolicyAst; issues: PolicyIssue[] } {
  const issues: PolicyIssue[] = [];
  const ast: PolicyAst = { allow: [], deny: [], enforce: true };
  if (!isRecord(value) || Object.keys(value).length === 0) {
    issues.push({ path: [], message: 'expected a mapping with allow and/or deny (or use: NAME)' });
    return { ast, issues };
  }
  for (const key of Object.keys(value)) {
    if (key === 'allow' || key === 'deny') ast[key] = parseRule(value[key], [key], issues);
    else if (key === 'use') {
      const name = value[key];
      if (typeof name === 'string' && /^[a-z0-9][a-z0-9_-]*$/i.test(name)) ast.use = { name, path: ['use'] };
      else issues.push({ path: ['use'], message: 'use: expected the name of a named policy, e.g. use: engineering-only' });
    } else if (key === 'enforce') {
      if (typeof value[key] === 'boolean') ast.enforce = value[key];
      else issues.push({ path: ['enforce'], message: 'enforce: expected true or false' });
    } else issues.push({ path: [key], message: `unknown key '${key}'${didYouMean(key, POLICY_KEYS)}; expected allow, deny, use or enforce` });
  }
  if (ast.use && ('allow' in value || 'deny' in value)) {
    issues.push({ path: ['use'], message: 'use names a whole policy: it cannot be combined with allow or deny' });
  }
  if (!ast.use && !('allow' in value) && !('deny' in value) && issues.length === 0) {
    issues.push({ path: [], message: 'expected allow and/or deny (or use: NAME)' });
  }
  return { ast, issues };
}

/** A rule is one block or a list of blocks. */
function parseRule(value: unknown, path: PolicyPath, issues: PolicyIssue[]): OperatorNode[] {
  if (Array.isArray(value)) return value.flatMap((block, i) => parseBlock(block, [...path, i], issues) ?? []);
  const block = parseBlock(value, path, issues);
  return block ? [block] : [];
}

function parseBlock(value: unknown, path: PolicyPath, issues: PolicyIssue[]): OperatorNode | undefined {
  if (!isRecord(value)) {
    issues.push({ path: [...path], message: 'expected a block with and, or, not or nor, e.g. {or: [{email: {is: alice@example.com}}]}' });
    return undefined;
  }
  const items: OperatorNode[] = [];
  let ok = true;
  for (const key of Object.keys(value)) {
    if (isOperator(key)) {
      const node = parseOperator(key, value[key], [...path, key], issues);
      if (node) items.push(node);
      else ok = false;
    } else {
      ok = false;
      issues.push({ path: [...path, key], message: `unknown operator '${key}'${didYouMean(key, OPERATORS)}; expected one of ${OPERATORS.join(', ')}` });
    }
  }
  if (ok && items.length === 0) {
    issues.push({ path: [...path], message: 'a block needs and, or, not or nor' });
    return undefined;
  }
  if (!ok) return undefined;
  return items.length === 1 ? items[0] : { kind: 'and', items, path };
}

function parseOperator(kind: Operator, value: unknown, path: PolicyPath, issues: PolicyIssue[]): OperatorNode | undefined {
  if (!Array.isArray(value)) {
    issues.push({ path: [...path], message: `${kind}: expected a list of criteria, e.g. [{groups: {has: admins}}]` });
    return undefined;
  }
  if (value.length === 0 && (kind === 'not' || kind === 'nor')) {
    issues.push({ path: [...path], message: `${kind}: expected at least one criterion (an empty ${kind} would match everyone)` });
    return undefined;
  }
  const items: ExprNode[] = [];
  let ok = true;
  value.forEach((item, i) => {
    const itemPath = [...path, i];
    const keys = isRecord(item) ? Object.keys(item) : [];
    if (!isRecord(item) || keys.length !== 1) {
      issues.push({ path: itemPath, message: 'expected one criterion (or one nested operator) per list item, e.g. {email: {is: alice@example.com}}' });
      ok = false;
      return;
    }
    const key = keys[0]!;
    if (isOperator(key)) {
      const nested = parseOperator(key, item[key], [...itemPath, key], issues);
      if (nested) items.push(nested);
      else ok = false;
    } else items.push({ kind: 'criterion', key, value: item[key], path: itemPath });
  });
  return ok ? { kind, items, path } : undefined;
}
