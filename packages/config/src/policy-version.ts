import { createHash } from 'node:crypto';

/**
 * Identifies everything that decides access (route rules, named policies, the global policy). The authorize service
 * stamps it on decisions; a split proxy computes it from its own config and caches only decisions stamped with it,
 * so neither side's reload can leave a decision of the other policy in a cache.
 */
export function policyVersion(config: {
  routes: ReadonlyArray<{ id: string; policy: unknown; enforce: boolean; allowAnyAuthenticatedUser: boolean; allowPublicUnauthenticatedAccess: boolean }>;
  namedPolicies: ReadonlyArray<{ name: string; value: unknown }>;
  globalPolicy: unknown;
}): string {
  const state = {
    routes: config.routes.map((r) => [r.id, r.policy, r.enforce, r.allowAnyAuthenticatedUser, r.allowPublicUnauthenticatedAccess]),
    named: config.namedPolicies.map((n) => [n.name, n.value]),
    global: config.globalPolicy,
  };
  return createHash('sha256').update(JSON.stringify(state)).digest('base64url').slice(0, 16);
}
