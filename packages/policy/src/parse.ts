// Checks the shape of a policy value (allow/deny → blocks → and/or → one-key criterion items) and turns it into
// a tree the compiler walks. What a criterion's value means is left to the criterion itself.
import { isRecord, type PolicyIssue, type PolicyPath } from './issues.js';
import { didYouMean } from '@vallum/errors';

export interface CriterionNode {
  /** As written, e.g. `email` or `claim/department`. */
  key: string;
  value: unknown;
  /** Path of the one-key item (`- email: …`), which locates the criterion's name. */
  path: PolicyPath;
}

export interface BlockNode {
  and: CriterionNode[] | undefined;
  or: CriterionNode[] | undefined;
}

export interface PolicyAst {
  allow: BlockNode[];
  deny: BlockNode[];
}

const RULES = ['allow', 'deny'] as const;
const OPERATORS = ['and', 'or'] as const;

export function parsePolicy(value: unknown): { ast: PolicyAst; issues: PolicyIssue[] } {
  const issues: PolicyIssue[] = [];
  const ast: PolicyAst = { allow: [], deny: [] };
  if (!isRecord(value) || Object.keys(value).length === 0) {
    issues.push({ path: [], message: 'expected a mapping with allow and/or deny' });
    return { ast, issues };
  }
  for (const key of Object.keys(value)) {
    if (key === 'allow' || key === 'deny') ast[key] = parseRule(value[key], [key], issues);
    else issues.push({ path: [key], message: `unknown key '${key}'${didYouMean(key, RULES)}; expected allow or deny` });
  }
  return { ast, issues };
}

/** A rule is one block or a list of blocks. */
function parseRule(value: unknown, path: PolicyPath, issues: PolicyIssue[]): BlockNode[] {
  if (Array.isArray(value)) return value.flatMap((block, i) => parseBlock(block, [...path, i], issues) ?? []);
  const block = parseBlock(value, path, issues);
  return block ? [block] : [];
}

function parseBlock(value: unknown, path: PolicyPath, issues: PolicyIssue[]): BlockNode | undefined {
  if (!isRecord(value)) {
    issues.push({ path: [...path], message: 'expected a block with and and/or or, e.g. {or: [{email: {is: alice@example.com}}]}' });
    return undefined;
  }
  const block: BlockNode = { and: undefined, or: undefined };
  let ok = true;
  for (const key of Object.keys(value)) {
    if (key === 'and' || key === 'or') {
      const criteria = parseCriteria(value[key], [...path, key], issues);
      if (criteria) block[key] = criteria;
      else ok = false;
    } else {
      ok = false;
      const nested = key === 'not' || key === 'nor' ? ` (${key} is not supported; put the criteria in a deny block)` : '';
      issues.push({ path: [...path, key], message: `unknown key '${key}'${didYouMean(key, OPERATORS)}; expected and or or${nested}` });
    }
  }
  if (ok && !block.and && !block.or) {
    issues.push({ path: [...path], message: 'a block needs and or or' });
    return undefined;
  }
  return ok ? block : undefined;
}

function parseCriteria(value: unknown, path: PolicyPath, issues: PolicyIssue[]): CriterionNode[] | undefined {
  if (!Array.isArray(value)) {
    issues.push({ path: [...path], message: 'expected a list of criteria, e.g. [{groups: {has: admins}}]' });
    return undefined;
  }
  const nodes: CriterionNode[] = [];
  value.forEach((item, i) => {
    const itemPath = [...path, i];
    const keys = isRecord(item) ? Object.keys(item) : [];
    if (!isRecord(item) || keys.length !== 1) {
      issues.push({ path: itemPath, message: 'expected one criterion per list item, e.g. {email: {is: alice@example.com}}' });
      return;
    }
    const key = keys[0]!;
    nodes.push({ key, value: item[key], path: itemPath });
  });
  return nodes.length === value.length ? nodes : undefined;
}
