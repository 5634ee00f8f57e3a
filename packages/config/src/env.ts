// Settings that may come from the environment instead of the file (compose and Kubernetes set these).
export const ENV_OVERRIDES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['VALLUM_ADDRESS', ['address']],
  ['VALLUM_SERVICES', ['services']],
  ['VALLUM_AUTHENTICATE_SERVICE_URL', ['authenticate_service_url']],
  ['VALLUM_AUTHORIZE_SERVICE_URL', ['authorize_service_url']],
  ['VALLUM_CACHE_SERVICE_URL', ['cache_service_url']],
  ['VALLUM_SHARED_SECRET', ['shared_secret']],
  ['VALLUM_SHARED_SECRET_FILE', ['shared_secret_file']],
  ['VALLUM_COOKIE_SECRET', ['cookie_secret']],
  ['VALLUM_COOKIE_SECRET_FILE', ['cookie_secret_file']],
  ['VALLUM_REDIS_URL', ['cache', 'redis_url']],
  ['VALLUM_IDP_ISSUER', ['idp', 'issuer']],
  ['VALLUM_IDP_CLIENT_ID', ['idp', 'client_id']],
  ['VALLUM_IDP_CLIENT_SECRET', ['idp', 'client_secret']],
  ['VALLUM_IDP_CLIENT_SECRET_FILE', ['idp', 'client_secret_file']],
  ['VALLUM_LOG_LEVEL', ['log_level']],
];
