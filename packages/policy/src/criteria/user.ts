// `user`: the identity's subject (`sub`, the IdP's stable user id), compared exactly. Like `email`, messages never
// list who is allowed.
import { ReasonCodes } from '../reasons.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { keysOf } from './identity-keys.js';
import { compileOperator, defineCriterion, readList, readString, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.USER_ID_OK, unauthorized: ReasonCodes.USER_ID_UNAUTHORIZED };
const TEXT = { ok: 'user on the allow list', requires: 'requires an allowed user', denied: 'user on the deny list' };
const readId = (operand: unknown, path: PolicyPath, issues: PolicyIssue[]) => readString(operand, path, issues, 'a user id (the IdP sub)');
const subOf = (identity: { sub: unknown }): string => (typeof identity.sub === 'string' ? identity.sub : '');

export const userCriterion: CriterionDefinition = {
  name: 'user',
  takesArgument: false,
  syntax: {
    description: "The user's id (the IdP's sub), compared exactly",
    operators: { is: 'string', in: 'strings', ends_with: 'string' },
    shorthand: ['string', 'strings'],
  },
  compile: (input, issues) =>
    compileOperator(
      {
        label: 'user',
        shorthand: 'is',
        listShorthand: 'in',
        operators: {
          is(operand, path, issues) {
            const wanted = readId(operand, path, issues);
            return wanted === undefined
              ? undefined
              : defineCriterion(CODES, TEXT, (identity) => subOf(identity) === wanted, undefined, keysOf('sub', [wanted]));
          },
          in(operand, path, issues) {
            const list = readList(operand, path, issues, 'user ids', readId);
            if (!list) return undefined;
            const wanted = new Set(list);
            return defineCriterion(CODES, TEXT, (identity) => wanted.has(subOf(identity)), undefined, keysOf('sub', list));
          },
          ends_with(operand, path, issues) {
            const suffix = readId(operand, path, issues);
            return suffix === undefined ? undefined : defineCriterion(CODES, TEXT, (identity) => subOf(identity).endsWith(suffix));
          },
        },
      },
      input,
      issues,
    ),
};
