// Every policy of a config compiled once: named policies first (routes, the global and the admin policy `use`
// them), then the global policy, the admin policy, each route's. The loader runs it, so a config that loads is one
// every service can compile; the authorize service and the admin API run it again for the compiled policies.
// Problems come back located as file:line:column, in whichever file they are.
import { compilePolicy, PolicyError, validatePolicy, type CompiledPolicy, type PolicyIssue, type RouteAccess } from '@vallum/policy';
import type { VallumConfig } from './build-config.js';
import type { ConfigIssue, LocatedIssue } from './config-issues.js';
import { policyVersion } from './policy-version.js';
import type { RawConfig } from './schema.js';

export interface CompiledPolicies {
  routes: ReadonlyMap<string, RouteAccess>;
  named: ReadonlyMap<string, CompiledPolicy>;
  global: CompiledPolicy | undefined;
  /** `admin_policy`; the admin API is closed when undefined. */
  admin: CompiledPolicy | undefined;
  /** Changes whenever anything that decides access changes. */
  version: string;
}

/**
 * The policies written in the config file itself, checked for shape before the config is built, so their problems
 * are listed with the schema's. `use` is resolved later, by `compilePolicies`, once the named policy files are read.
 */
export function policyShapeIssues(raw: RawConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (policy: unknown, at: ConfigIssue['path']) => {
    if (policy === undefined) return;
    for (const issue of validatePolicy(policy)) issues.push({ path: [...at, ...issue.path], message: issue.message });
  };
  raw.routes.forEach((route, i) => check(route.policy, ['routes', i, 'policy']));
  check(raw.global_policy, ['global_policy']);
  check(raw.admin_policy, ['admin_policy']);
  return issues;
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
  const inConfig = (value: unknown, at: ReadonlyArray<string | number>) =>
    value === undefined ? undefined : attempt(value, (i) => config.locate([...at, ...i.path]), named);
  const global = inConfig(config.globalPolicy, ['global_policy']);
  const admin = inConfig(config.adminPolicy, ['admin_policy']);

  const routes = new Map<string, RouteAccess>();
  for (const route of config.routes) {
    const access: RouteAccess = {
      allowPublicUnauthenticatedAccess: route.allowPublicUnauthenticatedAccess,
      allowAnyAuthenticatedUser: route.allowAnyAuthenticatedUser,
      enforce: route.enforce,
      global,
    };
    const policy = inConfig(route.policy, route.policyPath);
    if (policy) access.policy = policy;
    routes.set(route.id, Object.freeze(access));
  }
  if (problems.length > 0) return { problems };
  const version = policyVersion(config);
  return { compiled: { routes, named, global, admin, version }, problems };
}
