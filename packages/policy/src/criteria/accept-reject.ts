// `accept: true` matches every signed-in request, `reject: true` none: building blocks for rules written as
// "everyone except …" or for switching a route off.
import { reason, ReasonCodes } from '../reasons.js';
import type { CompiledCriterion, CriterionDefinition } from './criterion.js';

const ACCEPT: CompiledCriterion = Object.freeze({
  matches: () => true,
  ok: reason(ReasonCodes.ACCEPT, 'allowed: everyone'),
  unauthorized: reason(ReasonCodes.REJECT, 'access is switched off'),
  denied: reason(ReasonCodes.DENY_MATCHED, 'denied: everyone'),
});

const REJECT: CompiledCriterion = Object.freeze({
  matches: () => false,
  ok: ACCEPT.ok,
  unauthorized: reason(ReasonCodes.REJECT, 'access is switched off'),
  denied: reason(ReasonCodes.DENY_MATCHED, 'denied: no one'),
});

function constant(name: 'accept' | 'reject', compiled: CompiledCriterion): CriterionDefinition {
  return {
    name,
    takesArgument: false,
    syntax: { description: name === 'accept' ? 'Every signed-in request' : 'No request', constant: true },
    compile({ value, path }, issues) {
      if (value === true) return compiled;
      issues.push({ path: [...path], message: `${name}: expected true` });
      return undefined;
    },
  };
}

export const acceptCriterion = constant('accept', ACCEPT);
export const rejectCriterion = constant('reject', REJECT);
