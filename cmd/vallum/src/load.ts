import { ConfigError, loadConfigFile, loadConfigText, type LoadOptions, type VallumConfig } from '@vallum/config';
import { compilePolicies, policyConfigCheck } from '@vallum/authorize';
import { adminPolicyCheck } from '@vallum/proxy';

/** Loads vallum.yaml with every check, the policy language's included, so all problems surface at load time. */
export function loadVallumConfig(file: string, options: LoadOptions = {}): VallumConfig {
  return withPolicies(loadConfigFile(file, { ...options, checks: [policyConfigCheck, adminPolicyCheck, ...(options.checks ?? [])] }));
}

export function loadVallumConfigText(text: string, file: string, options: LoadOptions = {}): VallumConfig {
  return withPolicies(loadConfigText(text, file, { ...options, checks: [policyConfigCheck, adminPolicyCheck, ...(options.checks ?? [])] }));
}

/** Named policy files, the global policy and `use` references can only be checked once the files are read. */
function withPolicies(config: VallumConfig): VallumConfig {
  const { problems } = compilePolicies(config);
  if (problems.length > 0) throw new ConfigError(config.file, problems);
  return config;
}
