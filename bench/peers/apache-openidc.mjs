// Peer: Apache 2.4 (mpm_event) + mod_auth_openidc in front of the upstream, the job Vallum does: an OIDC sign-in,
// a session, a group check, the identity passed upstream. Run from its own config in the benchmark's temp dir (own
// ServerRoot, PidFile, ErrorLog, runtime dir, a loopback Listen), never the system service. See bench/README.md for
// the tuning chosen and why.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const APACHE = '/usr/sbin/apache2';
export const APACHE_PACKAGES = ['apache2', 'libapache2-mod-auth-openidc'];
/** Where mod_auth_openidc receives the code; the IdP client's redirect_uri. */
export const APACHE_CALLBACK = '/oidc-callback';
const MODULES = ['mpm_event', 'authn_core', 'authz_core', 'proxy', 'proxy_http', 'auth_openidc'];

/**
 * Writes `DIR/apache/apache2.conf` and returns `[command, argv]` to run Apache in the foreground with it.
 * `issuer` is the oidc-provider on loopback, `upstream` the origin (`http://127.0.0.1:PORT`) every proxy forwards to.
 */
export function writeApacheConfig(dir, { port, upstream, issuer, clientId, clientSecret, passphrase }) {
  const root = join(dir, 'apache');
  const run = join(root, 'run');
  mkdirSync(run, { recursive: true });
  // Started as root, its children run as www-data and must reach the runtime dir (mutexes).
  chmodSync(root, 0o755);
  chmodSync(run, 0o777);
  const asRoot = process.getuid?.() === 0;
  const conf = join(root, 'apache2.conf');
  writeFileSync(
    conf,
    `ServerRoot ${root}
DefaultRuntimeDir ${run}
PidFile ${run}/apache2.pid
ErrorLog ${root}/error.log
LogLevel warn
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
${MODULES.map((m) => `LoadModule ${m === 'auth_openidc' ? 'auth_openidc_module' : `${m}_module`} /usr/lib/apache2/modules/mod_${m}.so`).join('\n')}
${asRoot ? 'User www-data\nGroup www-data' : ''}

# One process of 64 threads on the proxy's one core: no process spawning during the runs, a thread for each of the
# 50 connections, one shared session cache and one upstream connection pool.
StartServers 1
ServerLimit 1
ThreadLimit 64
ThreadsPerChild 64
MaxRequestWorkers 64
MinSpareThreads 1
MaxSpareThreads 64
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
Timeout 30

# Sessions in mod_auth_openidc's shared-memory cache (its default type), big enough for the benchmark's sessions.
OIDCProviderMetadataURL ${issuer}/.well-known/openid-configuration
OIDCClientID ${clientId}
OIDCClientSecret ${clientSecret}
OIDCProviderTokenEndpointAuth client_secret_basic
OIDCRedirectURI http://127.0.0.1:${port}${APACHE_CALLBACK}
OIDCCryptoPassphrase ${passphrase}
OIDCScope "openid email profile groups"
OIDCPKCEMethod S256
OIDCSessionType server-cache
OIDCCacheType shm
OIDCCacheShmMax 1000
OIDCCacheShmEntrySizeMax 65536
OIDCSessionInactivityTimeout 3600
OIDCRemoteUserClaim email
OIDCPassClaimsAs headers

# Keep-alive connections to the upstream (mod_proxy reuses a worker's pooled connections, up to ThreadsPerChild).
ProxyPass ${APACHE_CALLBACK} !
ProxyPass / ${upstream}/ ttl=60
ProxyPassReverse / ${upstream}/
<Location />
  AuthType openid-connect
  Require claim groups:admins
</Location>
`,
  );
  return [APACHE, ['-d', root, '-f', conf, '-DFOREGROUND']];
}
