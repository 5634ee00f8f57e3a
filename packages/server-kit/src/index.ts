export { createServer, requestIdOf, type ServerOptions } from './create-server.js';
export { noteAccess, traceOf } from './access-line.js';
export { isServiceCall, requireServiceAuth, type ServiceAuthOptions } from './require-service-auth.js';
export { safeRedirectTarget } from './safe-redirect.js';
export { pagesOf, sendPage } from './html.js';
export { escapeHtml, type PageSet } from '@vallum/pages';
export { isCrossSiteRequest, sendSignOutConfirmation } from './sign-out-intent.js';
export { clientAddress, createTrustCheck, trustedPeer, type TrustCheck } from './trusted-proxies.js';
export { addressKey, createRateLimiter, type RateLimiter, type RateLimiterOptions, type RateLimiterStats } from './rate-limiter.js';
export {
  errorView,
  renderDenial,
  renderError,
  replyError,
  replyRenderedError,
  sendError,
  wantsJson,
  writeRenderedError,
  type DenialInput,
  type ErrorRenderOptions,
  type ErrorView,
  type Reason,
  type RenderedError,
} from './error-response.js';
export {
  anyProbe,
  createProbeResponder,
  createReadiness,
  type CheckResult,
  type ProbeResponder,
  type ProbeResponderOptions,
  type Readiness,
  type ReadinessCheck,
  type ReadinessOptions,
  type ReadinessReport,
} from './readiness.js';
