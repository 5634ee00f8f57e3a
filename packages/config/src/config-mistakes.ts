// Settings that load but would fail at start or at the first request: the listen addresses, a route on the
// authenticate host, a plain-http issuer without its flag, the example's placeholder secrets, a service run on its
// own without the URLs of the services it calls or with workers it cannot have.
import type { RawConfig } from './schema.js';
import type { ConfigIssue, ConfigPath } from './config-issues.js';
import { parseListenAddress } from './parse-values.js';
import { PEER_URLS, WORKER_SERVICES } from './service-needs.js';

/** What the built config resolved, for the checks that need more than the raw settings. */
export interface ResolvedSettings {
  authenticateHost: string | undefined;
  routes: ReadonlyArray<{ index: number; host: string }>;
  secrets: ReadonlyArray<{ key: string; value: string }>;
}

/** The placeholders of vallum.example.yaml, README.md and docker-compose.yml: `CHANGE-ME…`, `demo-only-…-CHANGE-ME`. */
const PLACEHOLDER = /change[-_]?me/i;

export function configMistakes(raw: RawConfig, resolved: ResolvedSettings, locate: (path: ConfigPath) => string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  let listener: { host: string; port: number } | undefined;
  try {
    listener = parseListenAddress(raw.address ?? '127.0.0.1:8000');
  } catch (error) {
    issues.push({ path: ['address'], message: (error as Error).message });
  }
  if (raw.metrics_address !== undefined) {
    try {
      const metrics = parseListenAddress(raw.metrics_address, 'metrics_address');
      if (listener && metrics.port !== 0 && metrics.port === listener.port && metrics.host === listener.host) {
        issues.push({
          path: ['metrics_address'],
          message: `metrics_address '${raw.metrics_address}' is the same as address (${locate(['address'])}): metrics need a listener of their own`,
        });
      }
    } catch (error) {
      issues.push({ path: ['metrics_address'], message: (error as Error).message });
    }
  }

  if (resolved.authenticateHost !== undefined) {
    for (const route of resolved.routes) {
      if (route.host !== resolved.authenticateHost) continue;
      issues.push({
        path: ['routes', route.index, 'from'],
        message:
          `from: '${raw.routes[route.index]!.from}' is the host of authenticate_service_url (${locate(['authenticate_service_url'])}); ` +
          'the authenticate service answers every request there, so this route would never be reached: give the route or the authenticate service its own host',
      });
    }
  }

  const service = raw.services ?? 'all';
  for (const key of PEER_URLS[service]) {
    if (raw[key]) continue;
    issues.push({
      path: ['services'],
      message: `services: ${service} runs on its own and calls the ${key.replace('_service_url', '')} service: set ${key} to its URL`,
    });
  }
  if (typeof raw.workers === 'number' && raw.workers > 1 && !WORKER_SERVICES.has(service)) {
    issues.push({ path: ['workers'], message: `workers applies to the all-in-one and proxy services; the ${service} service runs as one process` });
  }

  const idps: Array<[string[], RawConfig['idp']]> = [
    [['idp'], raw.idp],
    ...Object.entries(raw.idps ?? {}).map(([n, idp]): [string[], RawConfig['idp']] => [['idps', n], idp]),
  ];
  for (const [at, idp] of idps) {
    if (!idp.issuer.toLowerCase().startsWith('http://') || idp.allow_insecure_http === true) continue;
    const where = at.join('.');
    issues.push({
      path: [...at, 'issuer'],
      message: `${where}.issuer '${idp.issuer}' is plain http, which the sign-in refuses: use https, or set ${where}.allow_insecure_http: true (a loopback development IdP only)`,
    });
  }

  if (raw.allow_placeholder_secrets !== true) {
    for (const { key, value } of resolved.secrets) {
      if (!PLACEHOLDER.test(value)) continue;
      const settings = raw as Record<string, unknown>;
      const path = key.split('.');
      const named = key.startsWith('idps.') ? raw.idps?.[path[1]!] : undefined;
      const fromFile = key.startsWith('idp.') ? !raw.idp.client_secret : named ? !named.client_secret : !settings[key];
      if (fromFile) path[path.length - 1] += '_file';
      issues.push({
        path,
        message: /^idps?\./.test(key)
          ? `${key} is a placeholder from the example (it contains 'CHANGE-ME'): use the client secret your identity provider issued`
          : `${key} is a placeholder from the example (it contains 'CHANGE-ME'): generate one with \`vallum gen-secret\``,
      });
    }
  }
  return issues;
}
