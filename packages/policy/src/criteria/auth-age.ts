// `auth_age: { less_than: 15m }`: how long ago the user last proved who they are at the IdP (its `auth_time`, else
// the session's start). Step-up for a route is the route option `max_session_age`; this is the same test in a policy.
import { parseDuration } from '../duration.js';
import { ReasonCodes } from '../reasons.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { compileOperator, defineCriterion, readString, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.AUTH_AGE_OK, unauthorized: ReasonCodes.AUTH_AGE_UNAUTHORIZED };
/** An age is compared per request: a decision holding one is reused for a second at most. */
const AGE_GRANULARITY_MS = 1000;
const nextSecond = (now: number) => now + AGE_GRANULARITY_MS;

function readAge(operand: unknown, path: PolicyPath, issues: PolicyIssue[]): { ms: number; text: string } | undefined {
  const text = readString(operand, path, issues, 'a duration like 15m or 1h30m');
  if (text === undefined) return undefined;
  try {
    const ms = parseDuration(text);
    if (ms > 0) return { ms, text };
  } catch {
    // reported below
  }
  issues.push({ path: [...path], message: `expected a duration longer than 0 like 15m or 1h30m, got '${text}'` });
  return undefined;
}

export const authAgeCriterion: CriterionDefinition = {
  name: 'auth_age',
  takesArgument: false,
  syntax: {
    description: "Time since the user last signed in at the IdP (its auth_time, else the session's start)",
    operators: { less_than: 'duration', more_than: 'duration' },
    shorthand: ['duration'],
  },
  compile: (input, issues) =>
    compileOperator(
      {
        label: 'auth_age',
        shorthand: 'less_than',
        operators: {
          less_than(operand, path, issues) {
            const age = readAge(operand, path, issues);
            if (!age) return undefined;
            const text = {
              ok: `signed in within ${age.text}`,
              requires: `requires signing in again (at most ${age.text} ago)`,
              denied: `signed in within ${age.text}`,
            };
            return defineCriterion(CODES, text, (identity, _r, now) => identity.authTime !== undefined && now - identity.authTime < age.ms, nextSecond);
          },
          more_than(operand, path, issues) {
            const age = readAge(operand, path, issues);
            if (!age) return undefined;
            const text = {
              ok: `signed in more than ${age.text} ago`,
              requires: `requires a sign-in more than ${age.text} old`,
              denied: `signed in more than ${age.text} ago`,
            };
            // An identity without a sign-in time is treated as old: a deny on it fails closed.
            return defineCriterion(CODES, text, (identity, _r, now) => identity.authTime === undefined || now - identity.authTime > age.ms, nextSecond);
          },
        },
      },
      input,
      issues,
    ),
};
