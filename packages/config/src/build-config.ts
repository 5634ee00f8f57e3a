// Turns a schema-valid raw config into the typed, frozen view services read: URLs parsed, secrets resolved,
// durations in milliseconds, defaults applied. Pure: the files the config names arrive already read (config-files.ts).
import { DEFAULT_IDP_NAME, type RawConfig, type RawRoute, type ServiceName } from './schema.js';
import type { ConfigIssue, ConfigPath } from './config-issues.js';
import { parseRange } from '@vallum/policy';
import { hostOf, parseDuration } from './parse-values.js';
import {
  buildListener,
  buildRouteProxy,
  buildSharedRouteProxy,
  splitWeight,
  type ListenerConfig,
  type RouteProxyConfig,
  type SharedRouteProxyConfig,
} from './build-proxy.js';
import type { NamedPolicy } from './policy-files.js';
import type { ConfigFiles } from './config-files.js';
import { fileText, type FileContents } from './file-contents.js';
import type { PageSet } from '@vallum/pages';
import { buildPages, templateSources } from './build-branding.js';
import { configMistakes } from './config-mistakes.js';
import { parseRedisUrl, type RedisTarget } from './redis-url.js';
import { signingKeyProblem } from './signing-key-problem.js';
import { RESERVED_HEADER } from './reserved-headers.js';
import { buildLimits, buildRouteLimits, type LimitsConfig, type RouteLimitConfig } from './build-limits.js';
import { buildJwtIssuers, buildRouteJwtIssuers, type JwtIssuerConfig } from './build-jwt-issuers.js';
import { buildRouteStepUp, type RouteStepUpConfig } from './build-step-up.js';
import { buildPreservePost, DEFAULT_PRESERVE_POST_BYTES } from './build-preserve-post.js';
import { buildIdps, buildRouteIdps, type IdpConfig } from './build-idps.js';

export type { IdpConfig } from './build-idps.js';

export interface RouteConfig extends RouteProxyConfig, SharedRouteProxyConfig, RouteLimitConfig, RouteStepUpConfig {
  /** `name`, or the route's index in `routes`. */
  id: string;
  /** Normalised origin the route answers on, e.g. `http://app.localhost:8000`. */
  from: string;
  /** Lower-cased `host[:port]` (port omitted when it is the scheme's default). */
  host: string;
  scheme: 'http' | 'https';
  to: readonly URL[];
  prefix: string;
  policy: unknown;
  /** Where this route's `policy` sits in the config, for error locations. */
  policyPath: ConfigPath;
  allowPublicUnauthenticatedAccess: boolean;
  allowAnyAuthenticatedUser: boolean;
  /** false: shadow mode for this route's rule. */
  enforce: boolean;
  passIdentityHeaders: boolean;
  /** A TCP route (`from: tcp+https://host:port`): HTTP CONNECT to `host` (always with its port) opens a tunnel to `to`. */
  tcp: boolean;
  /** Issuers from `jwt_issuers` whose bearer tokens this route accepts. */
  allowJwtIssuers: readonly string[];
  /** This route's `preserve_post` in bytes (0 = off); undefined = the top-level `preservePostMaxBytes`. */
  preservePostMaxBytes: number | undefined;
  /** Names of the IdPs whose sessions this route accepts (`idp`; default: the default IdP alone). */
  idps: readonly string[];
  /** CORS preflights are forwarded without a session (and without identity headers). */
  corsAllowPreflight: boolean;
}

export interface VallumConfig extends ListenerConfig {
  file: string;
  address: string;
  /** host:port of the Prometheus metrics listener; undefined = no metrics listener. */
  metricsAddress: string | undefined;
  services: ServiceName | 'all';
  /** Processes serving requests; `auto` is one per available core (the command resolves it). */
  workers: number | 'auto';
  authenticateServiceUrl: URL;
  authorizeServiceUrl: URL | undefined;
  cacheServiceUrl: URL | undefined;
  /** The default IdP (top-level `idp`), also `idps.default`. */
  idp: IdpConfig;
  /** Every IdP by name, the default included; look names up with `idpNamed`. */
  idps: Readonly<Record<string, IdpConfig>>;
  sharedSecret: string;
  cookieSecret: string;
  /** Keys IdP tokens at rest: `token_encryption_key`, else `shared_secret`. */
  tokenEncryptionSecret: string;
  /** Secrets each one replaced (rotation): never used for anything new, still accepted for what they made. */
  previousSharedSecrets: readonly string[];
  previousCookieSecrets: readonly string[];
  /** `previous_token_encryption_keys`, and `previous_shared_secrets` while `shared_secret` keys the tokens. */
  previousTokenEncryptionSecrets: readonly string[];
  /** Published in the JWKS, never used to sign. */
  previousSigningKeyPems: readonly string[];
  cookieName: string;
  cookieExpireMs: number;
  cookieSecure: boolean | undefined;
  /** Absent = no idle limit. */
  sessionIdleTimeoutMs: number | undefined;
  tokenRefreshIntervalMs: number;
  /** Upstream header name (as written) → session claim. */
  jwtClaimsHeaders: Readonly<Record<string, string>>;
  identityHeadersMaxBytes: number;
  /** Peers whose forwarded headers /.vallum/verify honours (checked when loading). */
  forwardAuthTrustedProxies: readonly string[];
  /** The admin API's policy; the API is closed when undefined. */
  adminPolicy: unknown;
  serviceAccountMaxLifetimeMs: number;
  signingKeyPem: string | undefined;
  redisUrl: string | undefined;
  /** `cache.redis_url` parsed: one Redis, Sentinel or Cluster. */
  redis: RedisTarget | undefined;
  /** Bound of the in-memory session store (no Redis); undefined for its default. */
  memoryMaxSessions: number | undefined;
  logLevel: string;
  /** How long in-flight requests may run after SIGTERM/SIGINT before what is left is closed. */
  shutdownGraceMs: number;
  /** How long readiness fails before the listener closes on SIGTERM/SIGINT (load balancers see it first). */
  drainDelayMs: number;
  logFormat: 'json' | 'pretty';
  tracing: TracingConfig;
  routes: readonly RouteConfig[];
  /** Named policies from policy_dir and policy_files, by file name without .yaml. */
  namedPolicies: readonly NamedPolicy[];
  /** Files and directories whose change must reload the config (besides the config file): policies, certificate. */
  reloadSources: readonly string[];
  globalPolicy: unknown;
  limits: LimitsConfig;
  /** Issuers of workload tokens (`jwt_issuers`); a route accepts those it names in `allow_jwt_issuers`. */
  jwtIssuers: readonly JwtIssuerConfig[];
  /** Largest POST body kept through a sign-in (`preserve_post`); 0 = off. */
  preservePostMaxBytes: number;
  /** Every page Vallum renders: `branding` and the `templates_dir` templates, compiled. */
  pages: PageSet;
  /** `file:line:column` of a setting, for errors found after loading (e.g. while compiling a policy). */
  locate(path: ConfigPath, atKey?: boolean): string;
}

export interface TracingConfig {
  /** OTLP/HTTP base URL; spans are exported only when set. */
  otlpEndpoint: string | undefined;
  /** Share of new traces sampled, 0–1. */
  sampleRatio: number;
}

export interface BuildContext {
  file: string;
  locate(path: ConfigPath, atKey?: boolean): string;
  /** What `readConfigFiles` read for this config. */
  files: ConfigFiles;
}

export function buildConfig(raw: RawConfig, ctx: BuildContext): { config?: VallumConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const url = (value: string, path: ConfigPath, what: string): URL | undefined => {
    try {
      const u = new URL(value);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      return u;
    } catch {
      issues.push({ path, message: `${what}: expected an http(s) URL, got '${value}'` });
      return undefined;
    }
  };
  const secret = (key: 'shared_secret' | 'cookie_secret' | 'token_encryption_key', required: boolean): string => {
    const fileKey = `${key}_file` as const;
    if (raw[key]) return raw[key]!;
    if (raw[fileKey]) return readSecretFile(ctx.files.contents, raw[fileKey]!, [fileKey], 32, issues);
    if (required) issues.push({ path: [], message: `'${key}' (or '${fileKey}') is required` });
    return '';
  };

  const authenticateServiceUrl = url(raw.authenticate_service_url, ['authenticate_service_url'], 'authenticate_service_url');
  const authorizeServiceUrl = raw.authorize_service_url ? url(raw.authorize_service_url, ['authorize_service_url'], 'authorize_service_url') : undefined;
  const cacheServiceUrl = raw.cache_service_url ? url(raw.cache_service_url, ['cache_service_url'], 'cache_service_url') : undefined;
  const idps = buildIdps(raw, (file, path) => readSecretFile(ctx.files.contents, file, path, 1, issues), issues);
  const clientSecret = idps[DEFAULT_IDP_NAME]!.clientSecret;

  let redis: RedisTarget | undefined;
  if (raw.cache?.redis_url !== undefined) {
    const parsed = parseRedisUrl(raw.cache.redis_url);
    if ('error' in parsed) issues.push({ path: ['cache', 'redis_url'], message: `cache.redis_url: ${parsed.error}` });
    else redis = parsed.target;
  }

  let signingKeyPem = raw.signing_key;
  if (!signingKeyPem && raw.signing_key_file) signingKeyPem = readSecretFile(ctx.files.contents, raw.signing_key_file, ['signing_key_file'], 1, issues);
  const signingKeyIssue = signingKeyPem ? signingKeyProblem(signingKeyPem) : undefined;
  if (signingKeyIssue) {
    const setting = raw.signing_key ? 'signing_key' : 'signing_key_file';
    issues.push({ path: [setting], message: `${setting}: ${signingKeyIssue}` });
  }

  for (const name of Object.keys(raw.jwt_claims_headers ?? {})) {
    if (RESERVED_HEADER.test(name))
      issues.push({ path: ['jwt_claims_headers', name], atKey: true, message: `'${name}' cannot carry a claim: Vallum or HTTP itself sets it` });
  }

  (raw.forward_auth?.trusted_proxies ?? []).forEach((entry, i) => {
    if (!parseRange(entry))
      issues.push({ path: ['forward_auth', 'trusted_proxies', i], message: `expected an IP address or CIDR like 10.0.0.0/8, got '${entry}'` });
  });

  const shared = buildSharedRouteProxy(raw, issues);
  const jwtIssuers = buildJwtIssuers(raw, issues);
  const routes: RouteConfig[] = [];
  const routeHosts: Array<{ index: number; host: string }> = [];
  const ids = new Set<string>();
  raw.routes.forEach((r, index) => {
    const route = buildRoute(r, index, url, ctx.files.contents, issues);
    if (!route) return;
    routeHosts.push({ index, host: route.host });
    if (ids.has(route.id)) issues.push({ path: ['routes', index, 'name'], message: `duplicate route name '${route.id}'` });
    ids.add(route.id);
    routes.push({
      ...route,
      ...shared,
      allowJwtIssuers: buildRouteJwtIssuers(r, index, jwtIssuers, issues),
      idps: buildRouteIdps(r, index, idps, issues),
    });
  });

  const policies = ctx.files.policies;
  issues.push(...policies.issues);
  const sharedSecret = secret('shared_secret', true);
  const cookieSecret = secret('cookie_secret', true);
  const ownTokenSecret = secret('token_encryption_key', false);
  const previous = (key: PreviousKey, current: string, minLength: number, problem?: (value: string) => string | undefined): string[] =>
    previousSecrets(raw, key, { current, minLength, files: ctx.files.contents, issues, problem });
  const previousSharedSecrets = previous('previous_shared_secrets', sharedSecret, 32);
  const previousTokenKeys = previous('previous_token_encryption_keys', ownTokenSecret || sharedSecret, 32);

  const config: VallumConfig = {
    file: ctx.file,
    address: raw.address ?? '127.0.0.1:8000',
    metricsAddress: raw.metrics_address,
    services: raw.services ?? 'all',
    workers: raw.workers ?? 1,
    authenticateServiceUrl: authenticateServiceUrl ?? new URL('http://invalid'),
    authorizeServiceUrl,
    cacheServiceUrl,
    idp: idps[DEFAULT_IDP_NAME]!,
    idps,
    sharedSecret,
    cookieSecret,
    tokenEncryptionSecret: ownTokenSecret || sharedSecret,
    previousSharedSecrets,
    previousCookieSecrets: previous('previous_cookie_secrets', cookieSecret, 32),
    previousTokenEncryptionSecrets: [...previousTokenKeys, ...(ownTokenSecret ? [] : previousSharedSecrets)],
    previousSigningKeyPems: previous('previous_signing_keys', signingKeyPem?.trim() ?? '', 1, signingKeyProblem),
    cookieName: raw.cookie_name ?? '_vallum',
    cookieExpireMs: parseDuration(raw.cookie_expire ?? '14h'),
    cookieSecure: raw.cookie_secure,
    sessionIdleTimeoutMs: raw.session_idle_timeout === undefined ? undefined : parseDuration(raw.session_idle_timeout),
    tokenRefreshIntervalMs: parseDuration(raw.token_refresh_interval ?? '30s'),
    jwtClaimsHeaders: raw.jwt_claims_headers ?? {},
    identityHeadersMaxBytes: raw.identity_headers_max_bytes ?? 8192,
    // A proxy trusted to say who the client is may also say which request it is asking about, unless told otherwise.
    forwardAuthTrustedProxies: raw.forward_auth?.trusted_proxies ?? raw.trusted_proxies ?? [],
    adminPolicy: raw.admin_policy,
    serviceAccountMaxLifetimeMs: parseDuration(raw.service_account_max_lifetime ?? '90d'),
    signingKeyPem,
    redisUrl: raw.cache?.redis_url,
    redis,
    memoryMaxSessions: raw.cache?.memory_max_sessions,
    logLevel: raw.log_level ?? 'info',
    shutdownGraceMs: parseDuration(raw.shutdown_grace ?? '30s'),
    drainDelayMs: parseDuration(raw.drain_delay ?? '0s'),
    logFormat: raw.log_format ?? 'json',
    tracing: Object.freeze({
      otlpEndpoint:
        raw.tracing?.otlp_endpoint && url(raw.tracing.otlp_endpoint, ['tracing', 'otlp_endpoint'], 'tracing.otlp_endpoint')?.href.replace(/\/$/, ''),
      sampleRatio: raw.tracing?.sample_ratio ?? 1,
    }),
    routes: Object.freeze(routes),
    ...buildListener(raw, ctx.files.contents, issues),
    namedPolicies: policies.named,
    // Secret files too: a rotated secret (a Kubernetes Secret volume, say) applies without a restart.
    reloadSources: [
      ...policies.sources,
      ...templateSources(ctx.files.templates),
      ...[raw.certificate_file, raw.key_file, raw.downstream_mtls?.ca_file, raw.downstream_mtls?.crl_file, ...secretFiles(raw)].filter((f) => f !== undefined),
    ],
    globalPolicy: raw.global_policy,
    limits: buildLimits(raw, issues),
    jwtIssuers,
    preservePostMaxBytes: buildPreservePost(raw.preserve_post, ['preserve_post'], issues) ?? DEFAULT_PRESERVE_POST_BYTES,
    pages: buildPages(raw, ctx.files.templates ?? { dir: undefined, read: {} }, issues),
    locate: ctx.locate,
  };
  issues.push(
    ...configMistakes(
      raw,
      {
        authenticateHost: authenticateServiceUrl && hostOf(authenticateServiceUrl),
        routes: routeHosts,
        secrets: [
          { key: 'shared_secret', value: config.sharedSecret },
          { key: 'cookie_secret', value: config.cookieSecret },
          { key: 'token_encryption_key', value: raw.token_encryption_key || raw.token_encryption_key_file ? config.tokenEncryptionSecret : '' },
          { key: 'idp.client_secret', value: clientSecret },
          ...Object.values(idps)
            .filter((idp) => idp.name !== DEFAULT_IDP_NAME)
            .map((idp) => ({ key: `idps.${idp.name}.client_secret`, value: idp.clientSecret })),
          // A published placeholder kept as a previous secret would still open what it signed: refused there too.
          ...config.previousSharedSecrets.map((value) => ({ key: 'previous_shared_secrets', value })),
          ...config.previousCookieSecrets.map((value) => ({ key: 'previous_cookie_secrets', value })),
          ...previousTokenKeys.map((value) => ({ key: 'previous_token_encryption_keys', value })),
        ],
      },
      ctx.locate,
    ),
  );
  return issues.length ? { issues } : { config: deepFreeze(config), issues };
}

function buildRoute(
  r: RawRoute,
  index: number,
  url: (value: string, path: ConfigPath, what: string) => URL | undefined,
  files: FileContents,
  issues: ConfigIssue[],
): Omit<RouteConfig, keyof SharedRouteProxyConfig | 'allowJwtIssuers' | 'idps'> | undefined {
  if (TCP_FROM.test(r.from)) return buildTcpRoute(r, index, files, issues);
  const from = url(r.from, ['routes', index, 'from'], 'from');
  const toList = Array.isArray(r.to) ? r.to : [r.to];
  const weights: number[] = [];
  const to = toList.map((t, i) => {
    const at: ConfigPath = Array.isArray(r.to) ? ['routes', index, 'to', i] : ['routes', index, 'to'];
    const split = splitWeight(t);
    if ('error' in split) {
      issues.push({ path: at, message: `to: ${split.error}` });
      return undefined;
    }
    weights.push(split.weight);
    return url(split.url, at, 'to');
  });
  if (!from || to.some((t) => !t)) return undefined;
  if ((from.pathname !== '/' && from.pathname !== '') || from.search || from.hash) {
    issues.push({ path: ['routes', index, 'from'], message: `from: expected scheme://host[:port] without a path (use 'prefix'), got '${r.from}'` });
    return undefined;
  }
  if (r.tcp_idle_timeout !== undefined) issues.push({ path: ['routes', index, 'tcp_idle_timeout'], message: 'tcp_idle_timeout applies to tcp routes only' });
  if (r.allow_public_unauthenticated_access && (r.policy !== undefined || r.allow_any_authenticated_user)) {
    issues.push({
      path: ['routes', index, 'allow_public_unauthenticated_access'],
      message: 'a public route cannot also have a policy or allow_any_authenticated_user',
    });
  }
  if (!r.allow_public_unauthenticated_access && !r.allow_any_authenticated_user && r.policy === undefined) {
    issues.push({
      path: ['routes', index],
      message: 'route has no access rule: set policy, allow_any_authenticated_user or allow_public_unauthenticated_access',
    });
  }
  return {
    id: r.name ?? String(index),
    from: from.origin,
    host: hostOf(from),
    scheme: from.protocol === 'https:' ? 'https' : 'http',
    to: Object.freeze(to as URL[]),
    prefix: r.prefix ?? '/',
    policy: r.policy,
    policyPath: ['routes', index, 'policy'],
    allowPublicUnauthenticatedAccess: r.allow_public_unauthenticated_access ?? false,
    allowAnyAuthenticatedUser: r.allow_any_authenticated_user ?? false,
    enforce: r.enforce ?? true,
    passIdentityHeaders: r.pass_identity_headers ?? true,
    corsAllowPreflight: r.cors_allow_preflight ?? false,
    tcp: false,
    ...buildRouteProxy(r, index, weights, files, issues),
    ...buildRouteLimits(r, index, issues),
    ...buildRouteStepUp(r, index, issues),
    preservePostMaxBytes: buildPreservePost(r.preserve_post, ['routes', index, 'preserve_post'], issues),
  };
}

const TCP_FROM = /^tcp\+https?:/i;
/** Keys that shape HTTP requests or responses: meaningless on a byte tunnel, so refused rather than ignored. */
const HTTP_ONLY_KEYS = [
  'prefix',
  'path',
  'regex',
  'prefix_rewrite',
  'preserve_host_header',
  'host_rewrite',
  'set_request_headers',
  'remove_request_headers',
  'set_response_headers',
  'timeout',
  'idle_timeout',
  'rate_limit',
  'max_request_body',
  'outlier_detection',
  'allow_websockets',
  'reject_ambiguous_paths',
  'cache',
  'health_check',
  'lb_policy',
  'lb_hash',
  'allow_public_unauthenticated_access',
  'pass_identity_headers',
  'tls_custom_ca_file',
  'tls_skip_verify',
  'tls_client_cert_file',
  'tls_client_key_file',
] as const;

/** `from: tcp+https://host:port`, `to: tcp://host:port`: a route CONNECT opens, never an HTTP one. */
function buildTcpRoute(r: RawRoute, index: number, files: FileContents, issues: ConfigIssue[]): ReturnType<typeof buildRoute> {
  const at = (...rest: Array<string | number>): ConfigPath => ['routes', index, ...rest];
  const before = issues.length;
  const from = tcpAddress(r.from, /^tcp\+(https?):$/i);
  if (!from) issues.push({ path: at('from'), message: `from: expected tcp+https://host:port (or tcp+http://), port required, no path, got '${r.from}'` });
  const toList = Array.isArray(r.to) ? r.to : [r.to];
  const to = toList.map((t, i) => {
    const parsed = tcpAddress(t, /^tcp:$/i);
    if (!parsed) issues.push({ path: Array.isArray(r.to) ? at('to', i) : at('to'), message: `to: a tcp route goes to tcp://host:port, got '${t}'` });
    return parsed;
  });
  for (const key of HTTP_ONLY_KEYS) {
    if (r[key] !== undefined) issues.push({ path: at(key), message: `${key} does not apply to a tcp route (from: ${r.from})` });
  }
  if (!r.allow_any_authenticated_user && r.policy === undefined) {
    issues.push({ path: at(), message: 'route has no access rule: set policy or allow_any_authenticated_user' });
  }
  if (issues.length > before || !from) return undefined;
  const host = from.host.toLowerCase();
  return {
    id: r.name ?? String(index),
    from: `${from.protocol.toLowerCase()}//${host}`,
    host,
    scheme: from.protocol.toLowerCase() === 'tcp+https:' ? 'https' : 'http',
    to: Object.freeze(to as URL[]),
    prefix: '/',
    policy: r.policy,
    policyPath: ['routes', index, 'policy'],
    allowPublicUnauthenticatedAccess: false,
    allowAnyAuthenticatedUser: r.allow_any_authenticated_user ?? false,
    enforce: r.enforce ?? true,
    passIdentityHeaders: false,
    tcp: true,
    preservePostMaxBytes: 0,
    corsAllowPreflight: false,
    ...buildRouteStepUp(r, index, issues),
    ...buildRouteProxy(
      r,
      index,
      to.map(() => 1),
      files,
      issues,
    ),
    ...buildRouteLimits(r, index, issues),
  };
}

/** `scheme://host:port` with an explicit port and nothing after it, or undefined. */
function tcpAddress(value: string, scheme: RegExp): URL | undefined {
  if (!URL.canParse(value)) return undefined;
  const u = new URL(value);
  const bare = (u.pathname === '' || u.pathname === '/') && !u.search && !u.hash && !u.username && !u.password;
  return scheme.test(u.protocol) && u.hostname !== '' && u.port !== '' && bare ? u : undefined;
}

function secretFiles(raw: RawConfig): Array<string | undefined> {
  return [
    raw.shared_secret_file,
    raw.cookie_secret_file,
    raw.token_encryption_key_file,
    raw.signing_key_file,
    ...Object.values(raw.idps ?? {}).map((idp) => (idp.client_secret ? undefined : idp.client_secret_file)),
    ...Object.values(PREVIOUS).flatMap(({ files }) => raw[files] ?? []),
  ];
}

/** Each `previous_*` list, the setting naming files of more, and the setting it keeps the predecessors of. */
const PREVIOUS = {
  previous_shared_secrets: { files: 'previous_shared_secret_files', of: 'shared_secret' },
  previous_cookie_secrets: { files: 'previous_cookie_secret_files', of: 'cookie_secret' },
  previous_token_encryption_keys: { files: 'previous_token_encryption_key_files', of: 'token_encryption_key' },
  previous_signing_keys: { files: 'previous_signing_key_files', of: 'signing_key' },
} as const;
type PreviousKey = keyof typeof PREVIOUS;

/** A `previous_*` list and its `*_files`, each as strong as the current secret must be and none equal to it. */
function previousSecrets(
  raw: RawConfig,
  key: PreviousKey,
  options: {
    current: string;
    minLength: number;
    files: FileContents;
    issues: ConfigIssue[];
    /** What else makes a value unusable (a signing key that does not load). */
    problem?: ((value: string) => string | undefined) | undefined;
  },
): string[] {
  const { files: fileKey, of: current } = PREVIOUS[key];
  const found: Array<{ value: string; path: ConfigPath }> = [
    ...(raw[key] ?? []).map((value, i) => ({ value: value.trim(), path: [key, i] as ConfigPath })),
    ...(raw[fileKey] ?? []).map((file, i) => {
      const path: ConfigPath = [fileKey, i];
      return { value: readSecretFile(options.files, file, path, options.minLength, options.issues), path };
    }),
  ];
  for (const { value, path } of found) {
    if (value !== '' && value === options.current) {
      options.issues.push({ path, message: `${String(path[0])} must not hold the current ${current}: list only the ones it replaced` });
    }
    const problem = value === '' ? undefined : options.problem?.(value);
    if (problem) options.issues.push({ path, message: `${String(path[0])}: ${problem}` });
  }
  return [...new Set(found.map((f) => f.value).filter((v) => v !== ''))];
}

function readSecretFile(files: FileContents, file: string, path: ConfigPath, minLength: number, issues: ConfigIssue[]): string {
  const text = fileText(files, file);
  if (text instanceof Error) {
    issues.push({ path, message: `cannot read ${file}: ${text.message}` });
    return '';
  }
  const value = text.trim();
  if (value.length < minLength) issues.push({ path, message: `${file}: secret must be at least ${minLength} characters` });
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof URL)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
