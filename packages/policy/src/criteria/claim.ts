// `claim/<name>`: one top-level claim of the identity (ID token + userinfo), compared exactly.
import { ReasonCodes } from '../reasons.js';
import type { Identity } from '../types.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { compileOperator, defineCriterion, listText, readList, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.CLAIM_OK, unauthorized: ReasonCodes.CLAIM_UNAUTHORIZED };
const NAME = /^[^\s/]+$/;

type Scalar = string | number | boolean;

function readScalar(operand: unknown, path: PolicyPath, issues: PolicyIssue[]): Scalar | undefined {
  if (typeof operand === 'string' || typeof operand === 'number' || typeof operand === 'boolean') return operand;
  issues.push({ path: [...path], message: 'expected a string, number or boolean' });
  return undefined;
}

/** Own properties only, so `claim/constructor` cannot reach Object.prototype. */
function claimOf(identity: Identity, name: string): unknown {
  const claims = identity.claims;
  return claims && typeof claims === 'object' && Object.hasOwn(claims, name) ? claims[name] : undefined;
}

export const claimCriterion: CriterionDefinition = {
  name: 'claim',
  takesArgument: true,
  syntax: { description: 'A top-level claim of the ID token or userinfo', operators: { is: 'scalar', in: 'scalars', has: 'scalar' }, shorthand: ['scalar'] },
  compile(input, issues) {
    const name = input.argument ?? '';
    if (!NAME.test(name)) {
      issues.push({ path: [...input.path], message: `expected claim/<name>, e.g. claim/department, got 'claim/${name}'` });
      return undefined;
    }
    const label = `claim ${name}`;
    return compileOperator(
      {
        label: `claim/${name}`,
        shorthand: 'is',
        operators: {
          is(operand, path, issues) {
            const wanted = readScalar(operand, path, issues);
            if (wanted === undefined) return undefined;
            const text = { ok: `${label} ${wanted}`, requires: `requires ${label} ${wanted}`, denied: `${label} ${wanted}` };
            return defineCriterion(CODES, text, (identity) => claimOf(identity, name) === wanted);
          },
          in(operand, path, issues) {
            const list = readList(operand, path, issues, 'values', readScalar);
            if (!list) return undefined;
            const wanted = new Set<unknown>(list);
            const values = listText(list, 'or');
            const text = { ok: `${label} ${values}`, requires: `requires ${label} ${values}`, denied: `${label} ${values}` };
            return defineCriterion(CODES, text, (identity) => {
              const value = claimOf(identity, name);
              return value !== undefined && wanted.has(value);
            });
          },
          has(operand, path, issues) {
            const wanted = readScalar(operand, path, issues);
            if (wanted === undefined) return undefined;
            const text = { ok: `${label} includes ${wanted}`, requires: `requires ${label} to include ${wanted}`, denied: `${label} includes ${wanted}` };
            return defineCriterion(CODES, text, (identity) => {
              const value = claimOf(identity, name);
              return Array.isArray(value) && value.includes(wanted);
            });
          },
        },
      },
      input,
      issues,
    );
  },
};
