export type { Identity, RequestInfo, Reason, Decision } from './types.js';
export { compilePolicy, validatePolicy, type CompiledPolicy, type CompiledNode, type CompileOptions } from './compile.js';
export { evaluatePolicy, decide, shadowed } from './evaluate.js';
export { routeDecision, type RouteAccess } from './route-decision.js';
export { PolicyError, formatPolicyPath, type PolicyIssue, type PolicyPath } from './issues.js';
export { ReasonCodes, type ReasonCode } from './reasons.js';
export { CRITERION_NAMES, emailDomain, clientAddress, WITHHELD_HEADERS } from './criteria/index.js';
export { OPERATORS, POLICY_KEYS } from './parse.js';
export { policySchema, policySchemaText } from './json-schema.js';
