export { buildApp, type AppDeps } from './app.js';
export {
  createAuthorizer,
  policyConfigCheck,
  type Authorizer,
  type AuthorizerDeps,
  type DecisionLogger,
  type DecisionLogLine,
} from './authorizer.js';
