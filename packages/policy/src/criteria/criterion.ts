// What every criterion provides, and the helpers they share to read an operator and its operand.
import type { Identity, Reason, RequestInfo } from '../types.js';
import { isRecord, type PolicyIssue, type PolicyPath } from '../issues.js';
import { reason, ReasonCodes, type ReasonCode } from '../reasons.js';
import { didYouMean } from '@vallum/errors';
import type { IdentityKey } from './identity-keys.js';

export interface CompiledCriterion {
  /** Whether a signed-in identity satisfies it; an anonymous request never reaches a criterion. */
  matches(identity: Identity, request: RequestInfo, now: number): boolean;
  /** Why it allowed. */
  readonly ok: Reason;
  /** What it requires, when it did not match in an allow block. */
  readonly unauthorized: Reason;
  /** Why it denied, when it matched in a deny block. */
  readonly denied: Reason;
  /** Time-based criteria: the earliest time after `now` at which the answer could change. */
  readonly nextChange?: (now: number) => number;
  /** The identity values it needs: it can only match an identity holding one of them (see identity-index.ts). */
  readonly keys?: readonly IdentityKey[];
}

export interface CriterionInput {
  /** The text after the slash of `claim/<name>`; undefined for criteria without one. */
  argument: string | undefined;
  value: unknown;
  /** Path of the criterion's value, relative to the policy. */
  path: PolicyPath;
}

/** The JSON shape of an operand, for policy/schema.json. */
export type OperandKind = 'string' | 'strings' | 'string_or_strings' | 'scalar' | 'scalars' | 'true' | 'boolean' | 'duration';

/** How a criterion's value is written: the source of policy/schema.json (a test holds it to the compiler). */
export interface CriterionSyntax {
  description: string;
  /** `{operator: operand}`, one operator per criterion. */
  operators?: Readonly<Record<string, OperandKind>>;
  /** Keys allowed beside the operator. */
  modifiers?: Readonly<Record<string, OperandKind>>;
  /** What a bare value may be (it means the shorthand operator). */
  shorthand?: readonly OperandKind[];
  /** A mapping of these keys, at least one of them (date, time_of_day). */
  keys?: Readonly<Record<string, OperandKind>>;
  /** The value must be `true`. */
  constant?: true;
}

export interface CriterionDefinition {
  /** As written in a policy; for `claim/<name>` this is `claim`. */
  readonly name: string;
  readonly takesArgument: boolean;
  readonly syntax: CriterionSyntax;
  compile(input: CriterionInput, issues: PolicyIssue[]): CompiledCriterion | undefined;
}

export type OperatorCompiler = (
  operand: unknown,
  path: PolicyPath,
  issues: PolicyIssue[],
  argument: string | undefined,
  modifiers: Readonly<Record<string, unknown>>,
) => CompiledCriterion | undefined;

export interface OperatorTable {
  /** The criterion's name in messages, e.g. `groups` or `claim/department`. */
  label: string;
  operators: Readonly<Record<string, OperatorCompiler>>;
  /** The operator a bare value means, e.g. `email: a@b.c` is `email: {is: a@b.c}`. */
  shorthand: string;
  /** The operator a bare list means, e.g. `source_ip: [10.0.0.0/8]` is `{in: […]}`. */
  listShorthand?: string;
  /** Keys allowed next to the operator, e.g. `ignore_case` or `timezone`, each with its reader. */
  modifiers?: Readonly<Record<string, (value: unknown, path: PolicyPath, issues: PolicyIssue[]) => unknown>>;
}

/** Reads `{op: operand}` (or a bare operand meaning the shorthand operator) and compiles that operator. */
export function compileOperator(table: OperatorTable, input: CriterionInput, issues: PolicyIssue[]): CompiledCriterion | undefined {
  const names = Object.keys(table.operators);
  const { value, path, argument } = input;
  if (Array.isArray(value) && table.listShorthand) return table.operators[table.listShorthand]!(value, path, issues, argument, {});
  if (!isRecord(value)) {
    if (Array.isArray(value) || value === null || value === undefined) {
      issues.push({ path: [...path], message: `${table.label}: expected a value or {${names.join(' | ')}: …}` });
      return undefined;
    }
    return table.operators[table.shorthand]!(value, path, issues, argument, {});
  }
  const modifierNames = Object.keys(table.modifiers ?? {});
  const modifiers: Record<string, unknown> = {};
  let modifiersOk = true;
  for (const key of Object.keys(value).filter((k) => modifierNames.includes(k))) {
    const read = table.modifiers![key]!(value[key], [...path, key], issues);
    if (read === undefined) modifiersOk = false;
    else modifiers[key] = read;
  }
  const keys = Object.keys(value).filter((k) => !modifierNames.includes(k));
  if (keys.length !== 1) {
    const known = [...names, ...modifierNames];
    const unknown = keys.find((k) => !names.includes(k));
    const hint = unknown !== undefined ? `; unknown key '${unknown}'${didYouMean(unknown, known)}` : '';
    issues.push({ path: [...path], message: `${table.label}: expected exactly one operator (${names.join(', ')}), got ${keys.length}${hint}` });
    return undefined;
  }
  const op = keys[0]!;
  const compile = Object.hasOwn(table.operators, op) ? table.operators[op] : undefined;
  if (!compile) {
    issues.push({
      path: [...path],
      message: `unknown operator '${op}' for ${table.label}${didYouMean(op, [...names, ...modifierNames])}; expected one of ${names.join(', ')}${
        modifierNames.length ? ` (with ${modifierNames.join(', ')})` : ''
      }`,
    });
    return undefined;
  }
  const compiled = compile(value[op], [...path, op], issues, argument, modifiers);
  return modifiersOk ? compiled : undefined;
}

export function readString(operand: unknown, path: PolicyPath, issues: PolicyIssue[], what: string): string | undefined {
  if (typeof operand === 'string' && operand.trim() !== '') return operand;
  issues.push({ path: [...path], message: `expected ${what}, got ${describe(operand)}` });
  return undefined;
}

/** A non-empty list whose every item passes `read`; each bad item is reported at its own index. */
export function readList<T>(
  operand: unknown,
  path: PolicyPath,
  issues: PolicyIssue[],
  what: string,
  read: (item: unknown, path: PolicyPath, issues: PolicyIssue[]) => T | undefined,
): T[] | undefined {
  if (!Array.isArray(operand) || operand.length === 0) {
    issues.push({ path: [...path], message: `expected a non-empty list of ${what}, got ${describe(operand)}` });
    return undefined;
  }
  const items: T[] = [];
  let ok = true;
  operand.forEach((item, i) => {
    const value = read(item, [...path, i], issues);
    if (value === undefined) ok = false;
    else items.push(value);
  });
  return ok ? items : undefined;
}

/** Reads a mapping whose keys are all optional readers, with at least one present; unknown keys get a did-you-mean. */
export function readKeys<T extends Record<string, unknown>>(
  label: string,
  value: unknown,
  path: PolicyPath,
  issues: PolicyIssue[],
  readers: { [K in keyof T]: (v: unknown, p: PolicyPath, i: PolicyIssue[]) => T[K] | undefined },
  required: ReadonlyArray<keyof T>,
): Partial<T> | undefined {
  const names = Object.keys(readers);
  if (!isRecord(value)) {
    issues.push({ path: [...path], message: `${label}: expected a mapping with ${names.join(', ')}` });
    return undefined;
  }
  const out: Partial<T> = {};
  let ok = true;
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(readers, key)) {
      issues.push({ path: [...path], message: `unknown key '${key}' for ${label}${didYouMean(key, names)}; expected ${names.join(', ')}` });
      ok = false;
      continue;
    }
    const read = readers[key as keyof T](value[key], [...path, key], issues);
    if (read === undefined) ok = false;
    else out[key as keyof T] = read;
  }
  if (ok && !required.some((k) => k in out)) {
    issues.push({ path: [...path], message: `${label}: expected ${required.join(' and/or ')}` });
    return undefined;
  }
  return ok ? out : undefined;
}

export interface CriterionText {
  /** Shown when it allowed, e.g. "member of group admins". */
  ok: string;
  /** Shown when access was refused for want of it, e.g. "requires group admins". */
  requires: string;
  /** Shown after "denied: " when it matched a deny block, e.g. "member of group contractors". */
  denied: string;
}

/** Builds the criterion's reasons once, so evaluation allocates none. */
export function defineCriterion(
  codes: { ok: ReasonCode; unauthorized: ReasonCode },
  text: CriterionText,
  matches: CompiledCriterion['matches'],
  nextChange?: (now: number) => number,
  keys?: readonly IdentityKey[],
): CompiledCriterion {
  return Object.freeze({
    matches,
    ...(nextChange ? { nextChange } : {}),
    ...(keys ? { keys } : {}),
    ok: reason(codes.ok, `allowed: ${text.ok}`),
    unauthorized: reason(codes.unauthorized, text.requires),
    denied: reason(ReasonCodes.DENY_MATCHED, `denied: ${text.denied}`),
  });
}

/** "a", "a or b", "a, b or c". */
export function listText(values: readonly unknown[], conjunction: 'or' | 'and'): string {
  const words = values.map(String);
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} ${conjunction} ${words[words.length - 1]}`;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return value.trim() === '' ? 'an empty string' : `'${value}'`;
  return `${typeof value} ${String(value)}`;
}
