// The policy's answer for a request whose path a back end may read in more than one way (path-interpretations.ts):
// allowed only if every reading is allowed, else the first denial, with its reasons.
import type { Decision } from '@vallum/policy';
import type { AuthorizeApi, AuthorizeRequest } from '@vallum/service-client';

/** Without a promise when every decision is known in-process (`peek`). */
export function decideEveryPath(authorize: AuthorizeApi, input: AuthorizeRequest, otherPaths: readonly string[]): Decision | Promise<Decision> {
  if (otherPaths.length === 0) return authorize.peek?.(input) ?? authorize.evaluate(input);
  const inputs = [input, ...otherPaths.map((path) => ({ ...input, request: { ...input.request, path } }))];
  const decisions = inputs.map((i) => authorize.peek?.(i) ?? authorize.evaluate(i));
  if (decisions.some((d) => d instanceof Promise)) return Promise.all(decisions).then(strictest);
  return strictest(decisions as Decision[]);
}

function strictest(decisions: readonly Decision[]): Decision {
  return decisions.find((d) => !d.allow) ?? decisions[0]!;
}
