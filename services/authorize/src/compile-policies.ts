// Every policy of a config compiled once: named policies first (routes and the global policy `use` them), then the
// global policy, then each route's. Problems come back located as file:line:column, in whichever file they are.
import { policyVersion, type LocatedIssue, type VallumConfig } from '@vallum/config';
import { compilePolicy, PolicyError, type CompiledPolicy, type PolicyIssue, type RouteAccess } from '@vallum/policy';

export interface CompiledPolicies {
  routes: ReadonlyMap<string, RouteAccess>;
  named: ReadonlyMap<string, CompiledPolicy>;
  global: CompiledPolicy | undefined;
  /** Changes whenever anything that decides access changes. */
  version: string;
}

export function compilePolicies(config: VallumConfig): { compiled?: CompiledPolicies; problems: LocatedIssue[] } {
  const problems: LocatedIssue[] = [];
  const attempt = (value: unknown, where: (issue: PolicyIssue) => string, named?: ReadonlyMap<string, CompiledPolicy>): CompiledPolicy | undefined => {
    try {
      return compilePolicy(value, named ? { named } : {});
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      for (const issue of err.issues) problems.push({ path: issue.path, location: where(issue), message: issue.message });
      return undefined;
    }
  };

  const named = new Map<string, CompiledPolicy>();
  for (const policy of config.namedPolicies) {
    if (typeof policy.value === 'object' && policy.value !== null && 'use' in policy.value) {
      problems.push({ path: ['use'], location: policy.locate(['use']), message: 'a named policy cannot use another one; write its rules here' });
      continue;
    }
    const compiled = attempt(policy.value, (i) => policy.locate(i.path));
    if (compiled) named.set(policy.name, compiled);
  }
  const global =
    config.globalPolicy === undefined ? undefined : attempt(config.globalPolicy, (i) => config.locate(['global_policy', ...i.path]), named);

  const routes = new Map<string, RouteAccess>();
  for (const route of config.routes) {
    const access: RouteAccess = {
      allowPublicUnauthenticatedAccess: route.allowPublicUnauthenticatedAccess,
      allowAnyAuthenticatedUser: route.allowAnyAuthenticatedUser,
      enforce: route.enforce,
      global,
    };
    if (route.policy !== undefined) access.policy = attempt(route.policy, (i) => config.locate([...route.policyPath, ...i.path]), named);
    routes.set(route.id, Object.freeze(access));
  }
  if (problems.length > 0) return { problems };
  const version = policyVersion(config);
  return { compiled: { routes, named, global, version }, problems };
}
