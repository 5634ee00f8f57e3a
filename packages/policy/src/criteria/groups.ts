// `groups`: the identity's group names or ids as the IdP sent them, compared exactly.
import { ReasonCodes } from '../reasons.js';
import type { Identity } from '../types.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { keysOf } from './identity-keys.js';
import { compileOperator, defineCriterion, listText, readList, readString, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.GROUPS_OK, unauthorized: ReasonCodes.GROUPS_UNAUTHORIZED };

const readGroup = (operand: unknown, path: PolicyPath, issues: PolicyIssue[]) => readString(operand, path, issues, 'a group name');
const groupsOf = (identity: Identity): readonly unknown[] => (Array.isArray(identity.groups) ? identity.groups : []);

export const groupsCriterion: CriterionDefinition = {
  name: 'groups',
  takesArgument: false,
  syntax: { description: "The IdP's groups, compared exactly", operators: { has: 'string', has_any: 'strings', has_all: 'strings' }, shorthand: ['string'] },
  compile: (input, issues) =>
    compileOperator(
      {
        label: 'groups',
        shorthand: 'has',
        operators: {
          has(operand, path, issues) {
            const group = readGroup(operand, path, issues);
            if (group === undefined) return undefined;
            const text = { ok: `member of group ${group}`, requires: `requires group ${group}`, denied: `member of group ${group}` };
            return defineCriterion(CODES, text, (identity) => groupsOf(identity).includes(group), undefined, keysOf('groups', [group]));
          },
          has_any(operand, path, issues) {
            const list = readList(operand, path, issues, 'group names', readGroup);
            if (!list) return undefined;
            const names = listText(list, 'or');
            const text = { ok: `member of group ${names}`, requires: `requires group ${names}`, denied: `member of group ${names}` };
            const wanted = new Set<unknown>(list);
            return defineCriterion(CODES, text, (identity) => groupsOf(identity).some((g) => wanted.has(g)), undefined, keysOf('groups', list));
          },
          has_all(operand, path, issues) {
            const list = readList(operand, path, issues, 'group names', readGroup);
            if (!list) return undefined;
            const names = listText(list, 'and');
            const text = { ok: `member of groups ${names}`, requires: `requires groups ${names}`, denied: `member of groups ${names}` };
            return defineCriterion(
              CODES,
              text,
              (identity) => {
                const groups = groupsOf(identity);
                return list.every((g) => groups.includes(g));
              },
              undefined,
              keysOf('groups', list.slice(0, 1)),
            );
          },
        },
      },
      input,
      issues,
    ),
};
