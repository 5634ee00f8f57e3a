// `email`: the identity's email address, compared case-insensitively. Messages never list the allowed
// addresses, so a refused user does not learn who else may enter.
import { ReasonCodes } from '../reasons.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { keysOf } from './identity-keys.js';
import { compileOperator, defineCriterion, readList, readString, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.EMAIL_OK, unauthorized: ReasonCodes.EMAIL_UNAUTHORIZED };
const TEXT = { ok: 'email address on the allow list', requires: 'requires an allowed email address', denied: 'email address on the deny list' };
const ADDRESS = /^[^@\s]+@[^@\s]+$/;

function readAddress(operand: unknown, path: PolicyPath, issues: PolicyIssue[]): string | undefined {
  const value = readString(operand, path, issues, 'an email address like alice@example.com');
  if (value === undefined) return undefined;
  if (!ADDRESS.test(value)) {
    issues.push({ path: [...path], message: `expected an email address like alice@example.com, got '${value}'` });
    return undefined;
  }
  return value.toLowerCase();
}

const email = (identity: { email: unknown }): string | undefined => (typeof identity.email === 'string' ? identity.email.toLowerCase() : undefined);

export const emailCriterion: CriterionDefinition = {
  name: 'email',
  takesArgument: false,
  syntax: { description: 'The email address, case-insensitive', operators: { is: 'string', in: 'strings', ends_with: 'string' }, shorthand: ['string'] },
  compile: (input, issues) =>
    compileOperator(
      {
        label: 'email',
        shorthand: 'is',
        operators: {
          is(operand, path, issues) {
            const wanted = readAddress(operand, path, issues);
            return wanted === undefined
              ? undefined
              : defineCriterion(CODES, TEXT, (identity) => email(identity) === wanted, undefined, keysOf('email', [wanted]));
          },
          in(operand, path, issues) {
            const list = readList(operand, path, issues, 'email addresses', readAddress);
            if (!list) return undefined;
            const wanted = new Set(list);
            return defineCriterion(CODES, TEXT, (identity) => wanted.has(email(identity) ?? ''), undefined, keysOf('email', list));
          },
          ends_with(operand, path, issues) {
            const suffix = readString(operand, path, issues, 'a suffix starting with @ or ., e.g. @example.com');
            if (suffix === undefined) return undefined;
            // A bare `example.com` would also match `bob@evilexample.com`, so the suffix must start at a boundary.
            if (!/^[@.][^@\s]+$/.test(suffix)) {
              issues.push({ path: [...path], message: `expected a suffix starting with @ or ., e.g. @example.com, got '${suffix}'` });
              return undefined;
            }
            const lower = suffix.toLowerCase();
            return defineCriterion(CODES, TEXT, (identity) => (email(identity) ?? '').endsWith(lower));
          },
        },
      },
      input,
      issues,
    ),
};
