export { buildApp, type AppDeps } from './app.js';
export {
  createAuthorizer,
  DECISION_TTL_MS,
  type Authorizer,
  type AuthorizerDeps,
  type DecisionLogger,
  type DecisionLogLine,
  type Explanation,
} from './authorizer.js';
