// The one schema of vallum.yaml. Types, validation and the editor JSON Schema (vallum.schema.json, json-schema.ts) all come from it.
import { Type, type Static } from '@sinclair/typebox';
import { DURATION_PATTERN } from './parse-values.js';
import { ProxyGlobalKeys, ProxyRouteKeys } from './proxy-schema.js';
import { LimitGlobalKeys, LimitRouteKeys } from './limits-schema.js';
import { JwtIssuerGlobalKeys, JwtIssuerRouteKeys } from './jwt-issuers-schema.js';
import { StepUpRouteKeys } from './step-up-schema.js';
import { PreservePostGlobalKeys, PreservePostRouteKeys } from './preserve-post-schema.js';
import { BrandingKeys } from './branding-schema.js';

const Url = (description: string) => Type.String({ minLength: 1, description });
const Secret = (description: string) => Type.String({ minLength: 32, description: `${description} (at least 32 characters)` });
const PreviousSecrets = (what: string) =>
  Type.Optional(
    Type.Array(Secret(`A ${what} it replaced`), {
      description: `Secrets ${what} replaced: no longer used for anything new, still accepted for what they made (rotation; see docs/operations.md)`,
    }),
  );
const SecretFiles = (what: string) => Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: `Files holding ${what}` }));
/** Rotation: each secret's predecessors, still accepted for what they signed or sealed while the new one takes over. */
const PreviousSecretKeys = {
  previous_shared_secrets: PreviousSecrets('shared_secret'),
  previous_shared_secret_files: SecretFiles('previous_shared_secrets'),
  previous_cookie_secrets: PreviousSecrets('cookie_secret'),
  previous_cookie_secret_files: SecretFiles('previous_cookie_secrets'),
  previous_token_encryption_keys: PreviousSecrets('token_encryption_key'),
  previous_token_encryption_key_files: SecretFiles('previous_token_encryption_keys'),
};
const Duration = (description: string) => Type.String({ pattern: DURATION_PATTERN, description: `${description}, e.g. 90s, 30m, 14h, 1h30m` });

/** The name of the top-level `idp`, the one a route without `idp` uses. */
export const DEFAULT_IDP_NAME = 'default';
export const IDP_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]*$';

const IdpSchema = Type.Object(
  {
    issuer: Url('OIDC issuer URL; discovery is read from /.well-known/openid-configuration'),
    client_id: Type.String({ minLength: 1 }),
    client_secret: Type.Optional(Type.String({ minLength: 1 })),
    client_secret_file: Type.Optional(Type.String({ minLength: 1 })),
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    allow_insecure_http: Type.Optional(Type.Boolean({ description: 'Allow a plain-http issuer (loopback development only)' })),
    display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'How the sign-in chooser names this IdP (default: its name)' })),
    groups_from_userinfo: Type.Optional(
      Type.Boolean({ description: "Groups come from the userinfo endpoint only, never the ID token's; sign-in fails when userinfo does (default false)" }),
    ),
  },
  { additionalProperties: false },
);

export const SERVICE_NAMES = ['proxy', 'authenticate', 'authorize', 'cache'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const RouteSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*$', description: 'Stable id of the route, used in logs and decisions' })),
    from: Url('External URL the route answers on: scheme://host[:port], no path; tcp+https://host:port for a TCP route (HTTP CONNECT)'),
    to: Type.Union([Url('Upstream URL'), Type.Array(Url('Upstream URL, optionally with a weight: http://host:port,3'), { minItems: 1 })], {
      description: 'Upstream URL (or list of them, load balanced) requests are forwarded to; tcp://host:port for a TCP route',
    }),
    prefix: Type.Optional(Type.String({ pattern: '^/', description: 'Only requests whose normalised path starts with this prefix' })),
    policy: Type.Optional(Type.Unknown({ description: 'Access policy (allow/deny blocks); see policy/README.md' })),
    allow_public_unauthenticated_access: Type.Optional(Type.Boolean({ description: 'Forward without any sign-in' })),
    allow_any_authenticated_user: Type.Optional(Type.Boolean({ description: 'Allow every signed-in user' })),
    enforce: Type.Optional(Type.Boolean({ description: 'false: shadow mode, the policy allows but logs and counts every would-deny (default true)' })),
    pass_identity_headers: Type.Optional(Type.Boolean({ description: 'Send X-Vallum-Jwt-Assertion and claim headers upstream (default true)' })),
    idp: Type.Optional(
      Type.Union([Type.String({ pattern: IDP_NAME_PATTERN }), Type.Array(Type.String({ pattern: IDP_NAME_PATTERN }), { minItems: 1 })], {
        description: `The IdP (a name under idps, or '${DEFAULT_IDP_NAME}') whose sessions this route accepts, or a list of them: the user then picks one on a chooser page (default: ${DEFAULT_IDP_NAME})`,
      }),
    ),
    cors_allow_preflight: Type.Optional(
      Type.Boolean({
        description: 'Forward CORS preflights (OPTIONS with Origin and Access-Control-Request-Method) without a session (default false)',
      }),
    ),
    ...ProxyRouteKeys,
    ...LimitRouteKeys,
    ...JwtIssuerRouteKeys,
    ...StepUpRouteKeys,
    ...PreservePostRouteKeys,
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    address: Type.Optional(Type.String({ description: 'host:port this service listens on (default 127.0.0.1:8000)' })),
    metrics_address: Type.Optional(
      Type.String({ description: 'host:port of a separate listener serving Prometheus metrics at /metrics, e.g. 127.0.0.1:9090 (default: none)' }),
    ),
    services: Type.Optional(
      Type.Union([Type.Literal('all'), ...SERVICE_NAMES.map((s) => Type.Literal(s))], { description: 'Which service this process runs (default all)' }),
    ),
    workers: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 1024 }), Type.Literal('auto')], {
        description: 'Processes serving requests (all-in-one and proxy): a number, or auto for one per available core (default 1)',
      }),
    ),
    authenticate_service_url: Url('Public URL of the authenticate service, e.g. https://authenticate.corp.example.com'),
    authorize_service_url: Type.Optional(Url('Internal URL of the authorize service (split mode)')),
    cache_service_url: Type.Optional(Url('Internal URL of the cache service (split mode)')),
    idp: IdpSchema,
    idps: Type.Optional(
      Type.Record(Type.String({ pattern: IDP_NAME_PATTERN }), IdpSchema, {
        description: `More IdPs by name (a route picks them with idp: NAME); the top-level idp is the one named '${DEFAULT_IDP_NAME}'`,
      }),
    ),
    allow_placeholder_secrets: Type.Optional(
      Type.Boolean({
        description:
          "Accept the example's CHANGE-ME secrets: only for the local demo of docker-compose.yml (VALLUM_ALLOW_PLACEHOLDER_SECRETS), never anywhere else (default false)",
      }),
    ),
    shared_secret: Type.Optional(Secret('Secret the services use to authenticate calls to each other')),
    shared_secret_file: Type.Optional(Type.String({ minLength: 1 })),
    cookie_secret: Type.Optional(Secret('Secret that encrypts session cookies')),
    cookie_secret_file: Type.Optional(Type.String({ minLength: 1 })),
    token_encryption_key: Type.Optional(Secret('Secret that encrypts IdP tokens stored in Redis (default: derived from shared_secret)')),
    token_encryption_key_file: Type.Optional(Type.String({ minLength: 1 })),
    ...PreviousSecretKeys,
    cookie_name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]+$' })),
    cookie_expire: Type.Optional(Duration('Session lifetime')),
    session_idle_timeout: Type.Optional(Duration('Sign a session out after this long without a request (default: no idle limit)')),
    token_refresh_interval: Type.Optional(
      Duration('How often the cache service checks every session at the IdP: userinfo, or a token refresh when the access token expires soon (default 30s)'),
    ),
    jwt_claims_headers: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.String({ minLength: 1 }), {
        description: 'Extra upstream headers from session claims, e.g. {X-Email: email, X-Groups: groups}',
      }),
    ),
    identity_headers_max_bytes: Type.Optional(
      Type.Integer({
        minimum: 1024,
        maximum: 65536,
        description: 'Size budget of the identity headers (default 8192); groups the policy does not mention are dropped first',
      }),
    ),
    forward_auth: Type.Optional(
      Type.Object(
        {
          trusted_proxies: Type.Array(Type.String({ minLength: 1 }), {
            description: 'Addresses or CIDRs (e.g. 10.0.0.0/8) whose X-Forwarded-Host/-Uri/-Method and X-Original-URI /.vallum/verify honours',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    admin_policy: Type.Optional(Type.Unknown({ description: 'Policy for the admin API /.vallum/admin/v1/ (closed when absent)' })),
    service_account_max_lifetime: Type.Optional(
      Duration('Longest a service-account token may live (default 90d): longer ones are refused when issued, older ones when used'),
    ),
    cookie_secure: Type.Optional(Type.Boolean({ description: 'Force the Secure cookie flag (default: on for https URLs)' })),
    signing_key: Type.Optional(
      Type.String({ description: 'PEM (PKCS#8) P-256 private key for X-Vallum-Jwt-Assertion; derived from shared_secret when absent' }),
    ),
    signing_key_file: Type.Optional(Type.String({ minLength: 1 })),
    previous_signing_keys: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'PEM keys signing_key replaced: no longer sign, still published in the JWKS so upstreams verify what they signed',
      }),
    ),
    previous_signing_key_files: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Files holding previous_signing_keys' })),
    cache: Type.Optional(
      Type.Object(
        {
          redis_url: Type.Optional(
            Url(
              'Sessions in Redis: redis://[[user]:password@]host:port[/db] (rediss:// for TLS), redis+sentinel://[:password@]host:port[,host:port…]/MASTER_NAME[/DB] or redis+cluster://[:password@]host:port[,host:port…]; in-memory when absent',
            ),
          ),
          memory_max_sessions: Type.Optional(
            Type.Integer({ minimum: 1, description: 'Most sessions the in-memory store keeps; past it the oldest is ended (default 100000)' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    log_level: Type.Optional(Type.Union(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].map((l) => Type.Literal(l)))),
    shutdown_grace: Type.Optional(
      Duration('On SIGTERM/SIGINT, how long requests in flight may take to finish before the process closes what is left and exits (default 30s)'),
    ),
    drain_delay: Type.Optional(
      Duration('On SIGTERM/SIGINT, how long /readyz fails while the listener still accepts, so load balancers take this instance out first (default 0s)'),
    ),
    log_format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('pretty')], {
        description: 'json (default): one JSON object per line; pretty: one readable line per entry, for a terminal',
      }),
    ),
    tracing: Type.Optional(
      Type.Object(
        {
          otlp_endpoint: Type.Optional(Url('OTLP/HTTP collector base URL (spans are POSTed to ENDPOINT/v1/traces as JSON); no spans are exported when absent')),
          sample_ratio: Type.Optional(
            Type.Number({ minimum: 0, maximum: 1, description: "Share of new traces exported (default 1); a trusted caller's sampled flag is kept" }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    policy_dir: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Directory of named policies (NAME.yaml), relative to this file; routes refer to them with policy: {use: NAME}',
      }),
    ),
    policy_files: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Named policy files (NAME.yaml), relative to this file' })),
    global_policy: Type.Optional(Type.Unknown({ description: "Policy applied before every non-public route's own (allow/deny blocks or use: NAME)" })),
    routes: Type.Array(RouteSchema),
    ...ProxyGlobalKeys,
    ...LimitGlobalKeys,
    ...JwtIssuerGlobalKeys,
    ...PreservePostGlobalKeys,
    ...BrandingKeys,
  },
  { additionalProperties: false },
);

export type RawConfig = Static<typeof ConfigSchema>;
export type RawRoute = Static<typeof RouteSchema>;
