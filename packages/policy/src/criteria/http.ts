// `http_method` and `http_path`: what the request asks for. Paths are matched on the proxy's normalised path, so
// `//admin`, `/./admin`, `/x/../admin` and `/%61dmin` are all `/admin` here.
import { ReasonCodes } from '../reasons.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { compileOperator, defineCriterion, listText, readList, readString, type CriterionDefinition } from './criterion.js';

const METHOD_CODES = { ok: ReasonCodes.HTTP_METHOD_OK, unauthorized: ReasonCodes.HTTP_METHOD_UNAUTHORIZED };
const PATH_CODES = { ok: ReasonCodes.HTTP_PATH_OK, unauthorized: ReasonCodes.HTTP_PATH_UNAUTHORIZED };
const METHOD = /^[A-Za-z]+$/;

function readMethod(operand: unknown, path: PolicyPath, issues: PolicyIssue[]): string | undefined {
  const value = readString(operand, path, issues, 'an HTTP method like GET');
  if (value === undefined) return undefined;
  if (!METHOD.test(value)) {
    issues.push({ path: [...path], message: `expected an HTTP method like GET, got '${value}'` });
    return undefined;
  }
  return value.toUpperCase();
}

function methodText(names: string) {
  return { ok: `method ${names}`, requires: `only method ${names} is allowed here`, denied: `method ${names} is not allowed here` };
}

export const httpMethodCriterion: CriterionDefinition = {
  name: 'http_method',
  takesArgument: false,
  syntax: { description: 'The request method', operators: { is: 'string', in: 'strings' }, shorthand: ['string', 'strings'] },
  compile: (input, issues) =>
    compileOperator(
      {
        label: 'http_method',
        shorthand: 'is',
        listShorthand: 'in',
        operators: {
          is(operand, path, issues) {
            const wanted = readMethod(operand, path, issues);
            return wanted === undefined
              ? undefined
              : defineCriterion(METHOD_CODES, methodText(wanted), (_i, request) => request.method.toUpperCase() === wanted);
          },
          in(operand, path, issues) {
            const list = readList(operand, path, issues, 'HTTP methods', readMethod);
            if (!list) return undefined;
            const wanted = new Set(list);
            return defineCriterion(METHOD_CODES, methodText(listText(list, 'or')), (_i, request) => wanted.has(request.method.toUpperCase()));
          },
        },
      },
      input,
      issues,
    ),
};

function readPath(operand: unknown, path: PolicyPath, issues: PolicyIssue[]): string | undefined {
  const value = readString(operand, path, issues, 'a path starting with /');
  if (value === undefined) return undefined;
  if (!value.startsWith('/')) {
    issues.push({ path: [...path], message: `expected a path starting with /, got '${value}'` });
    return undefined;
  }
  return value;
}

function readBoolean(value: unknown, path: PolicyPath, issues: PolicyIssue[]): boolean | undefined {
  if (typeof value === 'boolean') return value;
  issues.push({ path: [...path], message: 'expected true or false' });
  return undefined;
}

const pathText = (what: string) => ({ ok: `path ${what}`, requires: `only paths ${what} are allowed here`, denied: `path ${what} is not allowed` });

export const httpPathCriterion: CriterionDefinition = {
  name: 'http_path',
  takesArgument: false,
  syntax: {
    description: 'The normalised request path',
    operators: { is: 'string', starts_with: 'string', matches: 'string' },
    modifiers: { ignore_case: 'boolean' },
    shorthand: ['string'],
  },
  compile: (input, issues) =>
    compileOperator(
      {
        label: 'http_path',
        shorthand: 'is',
        modifiers: { ignore_case: readBoolean },
        operators: {
          is(operand, path, issues, _argument, modifiers) {
            const wanted = readPath(operand, path, issues);
            if (wanted === undefined) return undefined;
            if (modifiers.ignore_case === true) {
              const lower = wanted.toLowerCase();
              return defineCriterion(PATH_CODES, pathText(wanted), (_i, request) => request.path.toLowerCase() === lower);
            }
            return defineCriterion(PATH_CODES, pathText(wanted), (_i, request) => request.path === wanted);
          },
          starts_with(operand, path, issues, _argument, modifiers) {
            const wanted = readPath(operand, path, issues);
            if (wanted === undefined) return undefined;
            // A plain prefix: `/admin` also covers `/admin;x` and `/admin%2F…`, which is what a deny needs.
            const text = pathText(`under ${wanted}`);
            if (modifiers.ignore_case === true) {
              const lower = wanted.toLowerCase();
              return defineCriterion(PATH_CODES, text, (_i, request) => request.path.toLowerCase().startsWith(lower));
            }
            return defineCriterion(PATH_CODES, text, (_i, request) => request.path.startsWith(wanted));
          },
          matches(operand, path, issues, _argument, modifiers) {
            const source = readString(operand, path, issues, 'a regular expression');
            if (source === undefined) return undefined;
            let re: RegExp;
            try {
              // Anchored: the expression must match the whole path, so `/admin` cannot match `/public/admin`.
              re = new RegExp(`^(?:${source})$`, modifiers.ignore_case === true ? 'iu' : 'u');
            } catch (err) {
              issues.push({ path: [...path], message: `invalid regular expression: ${(err as Error).message}` });
              return undefined;
            }
            return defineCriterion(PATH_CODES, pathText(`matching ${source}`), (_i, request) => re.test(request.path));
          },
        },
      },
      input,
      issues,
    ),
};
