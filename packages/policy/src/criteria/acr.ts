// `acr: { in: [urn:…:mfa] }`: the assurance the IdP signed the user in with (the ID token's `acr`), compared exactly.
// The route option `acr_values` also asks the IdP for it; this is the same test in a policy.
import { ReasonCodes } from '../reasons.js';
import { compileOperator, defineCriterion, listText, readList, readString, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.ACR_OK, unauthorized: ReasonCodes.ACR_UNAUTHORIZED };

export const acrCriterion: CriterionDefinition = {
  name: 'acr',
  takesArgument: false,
  syntax: {
    description: 'The authentication context class the IdP signed the user in with (acr)',
    operators: { is: 'string', in: 'strings' },
    shorthand: ['string', 'strings'],
  },
  compile: (input, issues) =>
    compileOperator(
      {
        label: 'acr',
        shorthand: 'is',
        listShorthand: 'in',
        operators: {
          is(operand, path, issues) {
            const wanted = readString(operand, path, issues, 'an acr value like urn:example:mfa');
            if (wanted === undefined) return undefined;
            const text = { ok: `sign-in assurance ${wanted}`, requires: `requires sign-in assurance ${wanted}`, denied: `sign-in assurance ${wanted}` };
            return defineCriterion(CODES, text, (identity) => identity.acr === wanted);
          },
          in(operand, path, issues) {
            const list = readList(operand, path, issues, 'acr values', (item, p, i) => readString(item, p, i, 'an acr value'));
            if (!list) return undefined;
            const wanted = new Set(list);
            const values = listText(list, 'or');
            const text = { ok: `sign-in assurance ${values}`, requires: `requires sign-in assurance ${values}`, denied: `sign-in assurance ${values}` };
            return defineCriterion(CODES, text, (identity) => identity.acr !== undefined && wanted.has(identity.acr));
          },
        },
      },
      input,
      issues,
    ),
};
