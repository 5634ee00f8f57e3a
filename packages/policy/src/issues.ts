import { VallumError, ErrorCodes } from '@vallum/errors';

/** Where in the policy value a problem is: keys and list indexes, relative to the policy itself. */
export type PolicyPath = ReadonlyArray<string | number>;

export interface PolicyIssue {
  path: (string | number)[];
  message: string;
}

export class PolicyError extends VallumError {
  readonly issues: readonly PolicyIssue[];
  constructor(issues: PolicyIssue[]) {
    const lines = issues.map((i) => `${formatPolicyPath(i.path)}: ${i.message}`).join('\n');
    super(ErrorCodes.POLICY_INVALID, `invalid policy:\n${lines}`, { status: 500, expose: false, details: { issues } });
    this.name = 'PolicyError';
    this.issues = Object.freeze(issues);
  }
}

/** `allow.or[0].email`, or `policy` for the root. */
export function formatPolicyPath(path: PolicyPath): string {
  let out = 'policy';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `.${key}`;
  return out;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
