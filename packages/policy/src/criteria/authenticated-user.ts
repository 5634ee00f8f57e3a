// `authenticated_user: true`: any signed-in user. Anonymous requests never reach a criterion, so it always matches.
import { reason, ReasonCodes, USER_OK, USER_UNAUTHENTICATED } from '../reasons.js';
import type { CompiledCriterion, CriterionDefinition } from './criterion.js';

const AUTHENTICATED_USER: CompiledCriterion = Object.freeze({
  matches: () => true,
  ok: USER_OK,
  unauthorized: USER_UNAUTHENTICATED,
  denied: reason(ReasonCodes.DENY_MATCHED, 'denied: signed-in user'),
});

export const authenticatedUserCriterion: CriterionDefinition = {
  name: 'authenticated_user',
  takesArgument: false,
  syntax: { description: 'Any signed-in user', constant: true },
  compile(input, issues) {
    if (input.value === true) return AUTHENTICATED_USER;
    issues.push({ path: [...input.path], message: 'authenticated_user: expected true' });
    return undefined;
  },
};
