// `header/<name>`: a request header the proxy passed on (never cookie or authorization). Messages name the header
// but not the value wanted.
import { ReasonCodes } from '../reasons.js';
import type { RequestInfo } from '../types.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { compileOperator, defineCriterion, readList, readString, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.HEADER_OK, unauthorized: ReasonCodes.HEADER_UNAUTHORIZED };
const NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
/** Headers the proxy withholds from authorize: a policy on them could never match. */
export const WITHHELD_HEADERS: readonly string[] = ['cookie', 'authorization', 'proxy-authorization'];

const readValue = (operand: unknown, path: PolicyPath, issues: PolicyIssue[]) => readString(operand, path, issues, 'a header value');

function headerOf(request: RequestInfo, name: string): string | undefined {
  const headers = request.headers;
  return headers && Object.hasOwn(headers, name) ? headers[name] : undefined;
}

export const headerCriterion: CriterionDefinition = {
  name: 'header',
  takesArgument: true,
  syntax: {
    description: 'A request header (never cookie or authorization)',
    operators: { is: 'string', in: 'strings', starts_with: 'string', present: 'true' },
    shorthand: ['string'],
  },
  compile(input, issues) {
    const name = (input.argument ?? '').toLowerCase();
    if (!NAME.test(name)) {
      issues.push({ path: [...input.path], message: `expected header/<name>, e.g. header/x-team, got 'header/${input.argument ?? ''}'` });
      return undefined;
    }
    if (WITHHELD_HEADERS.includes(name)) {
      issues.push({ path: [...input.path], message: `header/${name} is never passed to policies; use the identity criteria instead` });
      return undefined;
    }
    const text = { ok: `header ${name}`, requires: `requires an accepted ${name} header`, denied: `header ${name}` };
    return compileOperator(
      {
        label: `header/${name}`,
        shorthand: 'is',
        operators: {
          is(operand, path, issues) {
            const wanted = readValue(operand, path, issues);
            return wanted === undefined ? undefined : defineCriterion(CODES, text, (_i, request) => headerOf(request, name) === wanted);
          },
          in(operand, path, issues) {
            const list = readList(operand, path, issues, 'header values', readValue);
            if (!list) return undefined;
            const wanted = new Set(list);
            return defineCriterion(CODES, text, (_i, request) => wanted.has(headerOf(request, name) ?? '\0'));
          },
          starts_with(operand, path, issues) {
            const prefix = readValue(operand, path, issues);
            return prefix === undefined ? undefined : defineCriterion(CODES, text, (_i, request) => headerOf(request, name)?.startsWith(prefix) === true);
          },
          present(operand, path, issues) {
            if (operand !== true) {
              issues.push({ path: [...path], message: 'present: expected true' });
              return undefined;
            }
            return defineCriterion(CODES, text, (_i, request) => headerOf(request, name) !== undefined);
          },
        },
      },
      input,
      issues,
    );
  },
};
