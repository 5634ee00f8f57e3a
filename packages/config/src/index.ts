export { ConfigSchema, RouteSchema, SERVICE_NAMES, DEFAULT_IDP_NAME, type ServiceName, type RawConfig, type RawRoute } from './schema.js';
export { idpNamed, sessionIdp, acceptsIdp } from './build-idps.js';
export {
  loadConfigFile,
  loadConfigText,
  ConfigError,
  type ConfigIssue,
  type ConfigPath,
  type LoadOptions,
  type LocatedIssue,
} from './load-config.js';
export { loadConfigFileOffThread } from './load-config-off-thread.js';
export { parseDuration, parseSize, parseListenAddress, hostOf, DURATION_PATTERN, SIZE_PATTERN } from './parse-values.js';
export { buildConfig, type VallumConfig, type RouteConfig, type IdpConfig, type TracingConfig } from './build-config.js';
export { ENV_OVERRIDES } from './env.js';
export { LB_POLICIES } from './proxy-schema.js';
export type { RouteProxyConfig, SharedRouteProxyConfig, ListenerConfig, LbPolicy, HealthCheckConfig, UpstreamTlsConfig } from './build-proxy.js';
export type { NamedPolicy } from './policy-files.js';
export { DEFAULT_FINGERPRINT_HEADER, type DownstreamMtlsConfig, type DownstreamMtlsEnforcement } from './build-downstream-mtls.js';
export { clientCertificateRequired } from './client-certificate-required.js';
export { policyVersion } from './policy-version.js';
export { compilePolicies, type CompiledPolicies } from './compile-policies.js';
export type { LimitsConfig, RateLimitConfig, RouteLimitConfig } from './build-limits.js';
export { configSchema, configSchemaText } from './json-schema.js';
export { shareRateLimits } from './share-limits.js';
export { parseRedisUrl, type RedisTarget, type RedisNode } from './redis-url.js';
export { secretList } from './secret-list.js';
export { PEER_URLS, WORKER_SERVICES, type PeerUrlKey } from './service-needs.js';
export type { JwtIssuerConfig } from './build-jwt-issuers.js';
