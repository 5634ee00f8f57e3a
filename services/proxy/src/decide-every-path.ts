// The policy's answer for a request whose path a back end may read in more than one way (path-interpretations.ts):
// allowed only if every reading is allowed, else the first denial, with its reasons.
import type { Decision } from '@vallum/policy';
import type { AuthorizeApi, AuthorizeRequest } from '@vallum/service-client';

export async function decideEveryPath(authorize: AuthorizeApi, input: AuthorizeRequest, otherPaths: readonly string[]): Promise<Decision> {
  if (otherPaths.length === 0) return authorize.peek?.(input) ?? authorize.evaluate(input);
  const inputs = [input, ...otherPaths.map((path) => ({ ...input, request: { ...input.request, path } }))];
  return strictest(await Promise.all(inputs.map((i) => authorize.peek?.(i) ?? authorize.evaluate(i))));
}

/** The same answer when every decision is known in-process (`peek`); undefined when one must be asked for. */
export function peekEveryPath(authorize: AuthorizeApi, input: AuthorizeRequest, otherPaths: readonly string[]): Decision | undefined {
  if (authorize.peek === undefined) return undefined;
  const first = authorize.peek(input);
  if (first === undefined || otherPaths.length === 0) return first;
  const decisions = [first];
  for (const path of otherPaths) {
    const d = authorize.peek({ ...input, request: { ...input.request, path } });
    if (d === undefined) return undefined;
    decisions.push(d);
  }
  return strictest(decisions);
}

function strictest(decisions: readonly Decision[]): Decision {
  return decisions.find((d) => !d.allow) ?? decisions[0]!;
}
