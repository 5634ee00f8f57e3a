import { loadConfigFile, loadConfigText, type LoadOptions, type VallumConfig } from '@vallum/config';
import { policyConfigCheck } from '@vallum/authorize';
import { adminPolicyCheck } from '@vallum/proxy';

/** Loads vallum.yaml with every check, the policy language's included, so all problems surface at load time. */
export function loadVallumConfig(file: string, options: LoadOptions = {}): VallumConfig {
  return loadConfigFile(file, { ...options, checks: [policyConfigCheck, adminPolicyCheck, ...(options.checks ?? [])] });
}

export function loadVallumConfigText(text: string, file: string, options: LoadOptions = {}): VallumConfig {
  return loadConfigText(text, file, { ...options, checks: [policyConfigCheck, adminPolicyCheck, ...(options.checks ?? [])] });
}
