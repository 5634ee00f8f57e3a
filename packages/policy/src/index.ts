export type { Identity, RequestInfo, Reason, Decision } from './types.js';
export { compilePolicy, validatePolicy, type CompiledPolicy, type CompiledBlock } from './compile.js';
export { evaluatePolicy } from './evaluate.js';
export { routeDecision, type RouteAccess } from './route-decision.js';
export { PolicyError, formatPolicyPath, type PolicyIssue, type PolicyPath } from './issues.js';
export { ReasonCodes, type ReasonCode } from './reasons.js';
export { CRITERION_NAMES, emailDomain } from './criteria/index.js';
