// `domain`: the part of the identity's email after its single `@`, compared case-insensitively.
import { ReasonCodes } from '../reasons.js';
import type { Identity } from '../types.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { keysOf } from './identity-keys.js';
import { compileOperator, defineCriterion, listText, readList, readString, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.DOMAIN_OK, unauthorized: ReasonCodes.DOMAIN_UNAUTHORIZED };
const DOMAIN = /^[^@\s/]+$/;

/**
 * An address with more than one `@` (or none, or nothing before it) has no domain: `a@evil.com@example.com`
 * must not pass as example.com, whichever `@` another parser would split on.
 */
export function emailDomain(email: unknown): string | undefined {
  if (typeof email !== 'string') return undefined;
  const at = email.indexOf('@');
  if (at <= 0 || at !== email.lastIndexOf('@') || at === email.length - 1) return undefined;
  return email.slice(at + 1).toLowerCase();
}

function readDomain(operand: unknown, path: PolicyPath, issues: PolicyIssue[]): string | undefined {
  const value = readString(operand, path, issues, 'a domain like example.com');
  if (value === undefined) return undefined;
  if (!DOMAIN.test(value)) {
    issues.push({ path: [...path], message: `expected a domain like example.com (no '@'), got '${value}'` });
    return undefined;
  }
  return value.toLowerCase();
}

const domainOf = (identity: Identity): string => emailDomain(identity.email) ?? '';

export const domainCriterion: CriterionDefinition = {
  name: 'domain',
  takesArgument: false,
  syntax: {
    description: 'The domain of the email address, case-insensitive',
    operators: { is: 'string', in: 'strings', ends_with: 'string' },
    shorthand: ['string'],
  },
  compile: (input, issues) =>
    compileOperator(
      {
        label: 'domain',
        shorthand: 'is',
        operators: {
          is(operand, path, issues) {
            const wanted = readDomain(operand, path, issues);
            if (wanted === undefined) return undefined;
            const text = { ok: `email domain ${wanted}`, requires: `requires an email address at ${wanted}`, denied: `email domain ${wanted}` };
            return defineCriterion(CODES, text, (identity) => domainOf(identity) === wanted, undefined, keysOf('domain', [wanted]));
          },
          in(operand, path, issues) {
            const list = readList(operand, path, issues, 'domains', readDomain);
            if (!list) return undefined;
            const wanted = new Set(list);
            const names = listText(list, 'or');
            const text = { ok: `email domain ${names}`, requires: `requires an email address at ${names}`, denied: `email domain ${names}` };
            return defineCriterion(CODES, text, (identity) => wanted.has(domainOf(identity)), undefined, keysOf('domain', list));
          },
          ends_with(operand, path, issues) {
            const suffix = readDomain(typeof operand === 'string' ? operand.replace(/^\./, '') : operand, path, issues);
            if (suffix === undefined) return undefined;
            // Label boundary: `ends_with: example.com` matches example.com and eu.example.com, never evilexample.com.
            const dotted = `.${suffix}`;
            const text = {
              ok: `email domain under ${suffix}`,
              requires: `requires an email address at ${suffix} or a subdomain`,
              denied: `email domain under ${suffix}`,
            };
            return defineCriterion(CODES, text, (identity) => {
              const domain = domainOf(identity);
              return domain === suffix || domain.endsWith(dotted);
            });
          },
        },
      },
      input,
      issues,
    ),
};
