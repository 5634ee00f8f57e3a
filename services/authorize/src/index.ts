export { buildApp, type AppDeps } from './app.js';
export {
  createAuthorizer,
  DECISION_TTL_MS,
  policyConfigCheck,
  type Authorizer,
  type AuthorizerDeps,
  type DecisionLogger,
  type DecisionLogLine,
  type Explanation,
} from './authorizer.js';
export { compilePolicies, type CompiledPolicies } from './compile-policies.js';
