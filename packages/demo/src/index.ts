export { startDemoIdp, type DemoClient, type DemoIdp, type DemoIdpOptions } from './demo-idp.js';
export { startDemoApp, type DemoApp, type DemoAppOptions } from './demo-app.js';
export { DEMO_PASSWORD, DEMO_USERS, type DemoUser } from './users.js';
export { LOGIN_ERROR_MESSAGE } from './login-page.js';
export type { AssertionResult } from './assertion.js';
export type { WhoAmI } from './app-page.js';
export { DemoErrorCodes, DemoOptionsError } from './errors.js';
