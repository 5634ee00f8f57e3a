// The registry: every criterion a policy may name, looked up by key (`email`, `claim/department`, …).
import { suggest } from '@vallum/errors';
import { authenticatedUserCriterion } from './authenticated-user.js';
import { claimCriterion } from './claim.js';
import { domainCriterion } from './domain.js';
import { emailCriterion } from './email.js';
import { groupsCriterion } from './groups.js';
import type { CriterionDefinition } from './criterion.js';
import { acceptCriterion, rejectCriterion } from './accept-reject.js';
import { userCriterion } from './user.js';
import { httpMethodCriterion, httpPathCriterion } from './http.js';
import { sourceIpCriterion } from './source-ip.js';
import { headerCriterion } from './header.js';
import { dateCriterion, dayOfWeekCriterion, timeOfDayCriterion } from './time.js';
import { authAgeCriterion } from './auth-age.js';
import { acrCriterion } from './acr.js';
import { clientCertificateCriterion } from './client-certificate.js';

export type { CompiledCriterion, CriterionDefinition, CriterionInput, CriterionSyntax, OperandKind } from './criterion.js';
export { emailDomain } from './domain.js';
export { clientAddress } from './source-ip.js';
export { WITHHELD_HEADERS } from './header.js';

export const CRITERIA: readonly CriterionDefinition[] = [
  emailCriterion,
  domainCriterion,
  groupsCriterion,
  claimCriterion,
  authenticatedUserCriterion,
  userCriterion,
  authAgeCriterion,
  acrCriterion,
  acceptCriterion,
  rejectCriterion,
  httpMethodCriterion,
  httpPathCriterion,
  sourceIpCriterion,
  headerCriterion,
  clientCertificateCriterion,
  dateCriterion,
  dayOfWeekCriterion,
  timeOfDayCriterion,
];
const BY_NAME = new Map(CRITERIA.map((d) => [d.name, d]));

/** Every criterion as a user writes it, for messages and docs. */
export const CRITERION_NAMES: readonly string[] = CRITERIA.map((d) => (d.takesArgument ? `${d.name}/<name>` : d.name));

export function findCriterion(key: string): { definition: CriterionDefinition; argument: string | undefined } | undefined {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(0, slash);
  const definition = BY_NAME.get(name);
  if (!definition) return undefined;
  if (!definition.takesArgument) return slash < 0 ? { definition, argument: undefined } : undefined;
  return { definition, argument: slash < 0 ? undefined : key.slice(slash + 1) };
}

/** `emial` → `email`, `claims/department` → `claim/department`. */
export function suggestCriterion(key: string): string | undefined {
  const slash = key.indexOf('/');
  const withArgument = CRITERIA.filter((d) => d.takesArgument).map((d) => d.name);
  if (slash >= 0) {
    const prefix = suggest(key.slice(0, slash), withArgument);
    return prefix === undefined ? undefined : `${prefix}${key.slice(slash)}`;
  }
  const plain = suggest(
    key,
    CRITERIA.filter((d) => !d.takesArgument).map((d) => d.name),
  );
  if (plain) return plain;
  const prefix = suggest(key, withArgument);
  return prefix === undefined ? undefined : `${prefix}/<name>`;
}
