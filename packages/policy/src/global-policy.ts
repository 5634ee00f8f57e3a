// The named policies and the global policy of a config, compiled for callers outside the authorize service (the
// admin API) that must apply the global policy exactly as routes do; throws a PolicyError on the first bad one.
import { compilePolicy, type CompiledPolicy } from './compile.js';

export interface SharedPolicies {
  named: ReadonlyMap<string, CompiledPolicy>;
  global: CompiledPolicy | undefined;
}

export function compileSharedPolicies(config: { namedPolicies: ReadonlyArray<{ name: string; value: unknown }>; globalPolicy: unknown }): SharedPolicies {
  const named = new Map<string, CompiledPolicy>();
  for (const policy of config.namedPolicies) named.set(policy.name, compilePolicy(policy.value));
  const global = config.globalPolicy === undefined ? undefined : compilePolicy(config.globalPolicy, { named });
  return { named, global };
}
