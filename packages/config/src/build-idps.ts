// The IdPs: the top-level `idp` (named `default`) and each one under `idps`, and which of them each route accepts.
import { DEFAULT_IDP_NAME, type RawConfig, type RawRoute } from './schema.js';
import type { ConfigIssue, ConfigPath } from './config-issues.js';

export interface IdpConfig {
  /** `default` for the top-level `idp`, else its key under `idps`. */
  name: string;
  /** What the sign-in chooser shows. */
  displayName: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: readonly string[];
  allowInsecureHttp: boolean;
  /** Groups from userinfo alone (the ID token's are ignored), and a userinfo that fails fails the sign-in. */
  groupsFromUserinfo: boolean;
}

type RawIdp = RawConfig['idp'];
/** Reads a `*_file` secret (already loaded by the loader), noting a problem in `issues`. */
type ReadSecret = (file: string, path: ConfigPath) => string;

const DEFAULT_SCOPES = ['openid', 'email', 'profile', 'groups', 'offline_access'];

/** Every IdP by name, the default included. */
export function buildIdps(raw: RawConfig, readSecret: ReadSecret, issues: ConfigIssue[]): Record<string, IdpConfig> {
  const idps: Record<string, IdpConfig> = { [DEFAULT_IDP_NAME]: buildIdp(DEFAULT_IDP_NAME, raw.idp, ['idp'], readSecret, issues) };
  for (const [name, rawIdp] of Object.entries(raw.idps ?? {})) {
    if (name === DEFAULT_IDP_NAME) {
      issues.push({ path: ['idps', name], atKey: true, message: `'${DEFAULT_IDP_NAME}' is the name of the top-level idp: give this IdP another name` });
      continue;
    }
    idps[name] = buildIdp(name, rawIdp, ['idps', name], readSecret, issues);
  }
  return idps;
}

function buildIdp(name: string, raw: RawIdp, path: readonly string[], readSecret: ReadSecret, issues: ConfigIssue[]): IdpConfig {
  const where = path.join('.');
  try {
    const u = new URL(raw.issuer);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    issues.push({ path: [...path, 'issuer'], message: `${where}.issuer: expected an http(s) URL, got '${raw.issuer}'` });
  }
  let clientSecret = raw.client_secret ?? '';
  if (!clientSecret && raw.client_secret_file) clientSecret = readSecret(raw.client_secret_file, [...path, 'client_secret_file']);
  if (!clientSecret && !raw.client_secret_file) issues.push({ path, message: `'${where}.client_secret' (or '${where}.client_secret_file') is required` });
  return {
    name,
    displayName: raw.display_name ?? (name === DEFAULT_IDP_NAME ? hostOrIssuer(raw.issuer) : name),
    issuer: raw.issuer,
    clientId: raw.client_id,
    clientSecret,
    scopes: Object.freeze(raw.scopes ?? DEFAULT_SCOPES),
    allowInsecureHttp: raw.allow_insecure_http ?? false,
    groupsFromUserinfo: raw.groups_from_userinfo ?? false,
  };
}

function hostOrIssuer(issuer: string): string {
  try {
    return new URL(issuer).host;
  } catch {
    return issuer;
  }
}

/** The IdPs a route accepts, each one that is configured (an unknown name is an issue at its position). */
export function buildRouteIdps(r: RawRoute, index: number, known: Readonly<Record<string, IdpConfig>>, issues: ConfigIssue[]): readonly string[] {
  if (r.idp === undefined) return DEFAULT_ONLY;
  const names = Array.isArray(r.idp) ? r.idp : [r.idp];
  names.forEach((name, i) => {
    if (Object.hasOwn(known, name)) return;
    const at: ConfigPath = Array.isArray(r.idp) ? ['routes', index, 'idp', i] : ['routes', index, 'idp'];
    const names = Object.keys(known).join(', ');
    issues.push({ path: at, message: `idp: no IdP named '${name}' (configured: ${names}; name more under idps)` });
  });
  if (new Set(names).size !== names.length) issues.push({ path: ['routes', index, 'idp'], message: 'idp: an IdP is named twice' });
  if (r.allow_public_unauthenticated_access) {
    issues.push({ path: ['routes', index, 'idp'], message: 'idp: a public route signs nobody in, so it has no IdP to choose' });
  }
  return Object.freeze([...names]);
}

const DEFAULT_ONLY: readonly string[] = Object.freeze([DEFAULT_IDP_NAME]);

/** The IdP name a session belongs to (sessions made before IdPs had names, and Vallum's own tokens: the default). */
export function sessionIdp(session: { idp?: string | undefined }): string {
  return session.idp ?? DEFAULT_IDP_NAME;
}

/** Whether a route accepts a session of this IdP. */
export function acceptsIdp(route: { idps: readonly string[] }, session: { idp?: string | undefined }): boolean {
  return route.idps.includes(sessionIdp(session));
}

/** The IdP of that name, if configured (never one of Object's own properties). */
export function idpNamed(idps: Readonly<Record<string, IdpConfig>>, name: string): IdpConfig | undefined {
  return Object.hasOwn(idps, name) ? idps[name] : undefined;
}
