// The workload token issuers (`jwt_issuers`) and each route's `allow_jwt_issuers`, checked: URLs, no issuer twice,
// not the IdP (its tokens are accepted already, for its client_id), plain http only with its flag, and a route
// naming only issuers that are configured.
import type { RawConfig, RawRoute } from './schema.js';
import type { ConfigIssue, ConfigPath } from './config-issues.js';

export interface JwtIssuerConfig {
  issuer: string;
  audiences: readonly string[];
  jwksUrl: string | undefined;
  subjectClaim: string;
  groupsClaim: string;
  allowInsecureHttp: boolean;
}

export function buildJwtIssuers(raw: RawConfig, issues: ConfigIssue[]): JwtIssuerConfig[] {
  const seen = new Set<string>();
  return (raw.jwt_issuers ?? []).map((entry, i) => {
    const at = (key: string): ConfigPath => ['jwt_issuers', i, key];
    const insecure = entry.allow_insecure_http ?? false;
    for (const key of ['issuer', 'jwks_url'] as const) {
      const value = entry[key];
      if (value === undefined) continue;
      const scheme = URL.canParse(value) ? new URL(value).protocol : undefined;
      if (scheme !== 'https:' && scheme !== 'http:') issues.push({ path: at(key), message: `${key}: expected an http(s) URL, got '${value}'` });
      else if (scheme === 'http:' && !insecure && (key === 'jwks_url' || entry.jwks_url === undefined))
        issues.push({ path: at(key), message: `${key} '${value}' is plain http: use https, or set allow_insecure_http: true (loopback development only)` });
    }
    if (seen.has(entry.issuer)) issues.push({ path: at('issuer'), message: `issuer '${entry.issuer}' is listed twice` });
    seen.add(entry.issuer);
    if (entry.issuer === raw.idp.issuer) {
      issues.push({
        path: at('issuer'),
        message: "the IdP's own tokens are accepted already (audience idp.client_id); jwt_issuers are for other issuers",
      });
    }
    return {
      issuer: entry.issuer,
      audiences: Object.freeze(typeof entry.audience === 'string' ? [entry.audience] : [...entry.audience]),
      jwksUrl: entry.jwks_url,
      subjectClaim: entry.subject_claim ?? 'sub',
      groupsClaim: entry.groups_claim ?? 'groups',
      allowInsecureHttp: insecure,
    };
  });
}

export function buildRouteJwtIssuers(r: RawRoute, index: number, known: readonly JwtIssuerConfig[], issues: ConfigIssue[]): readonly string[] {
  const allowed = r.allow_jwt_issuers ?? [];
  if (allowed.length > 0 && r.allow_public_unauthenticated_access) {
    issues.push({ path: ['routes', index, 'allow_jwt_issuers'], message: 'a public route takes no credentials: remove allow_jwt_issuers' });
  }
  allowed.forEach((issuer, i) => {
    if (known.some((k) => k.issuer === issuer)) return;
    const listed = known.map((k) => `'${k.issuer}'`).join(', ') || 'none';
    issues.push({ path: ['routes', index, 'allow_jwt_issuers', i], message: `'${issuer}' is not in jwt_issuers (configured: ${listed})` });
  });
  return Object.freeze([...new Set(allowed)]);
}
