// The identity headers a route's upstream gets: the signed assertion, email and groups, and the deployment's own
// claim headers (`jwt_claims_headers`). They stay within `identity_headers_max_bytes`: when a user's groups would
// overflow it, only the groups the route's policy mentions are sent (and, past that, as many as fit), so an
// upstream never answers 431 because of Vallum.
import type { RouteConfig, VallumConfig } from '@vallum/config';
import type { SessionView } from '@vallum/session';
import type { AssertionOverride, AssertionSigner } from './assertion.js';
import type { IdentityHeaders } from './director.js';

/** Bytes a header line costs besides name and value (": " and CRLF). */
const LINE_OVERHEAD = 4;
/** The assertion's JOSE header and signature, and its sub, iss, aud, iat and exp claims. */
const JWT_OVERHEAD = 400;
const BASE_HEADERS = ['x-vallum-jwt-assertion', 'x-vallum-claim-email', 'x-vallum-claim-groups'];

export type IdentityHeaderConfig = Pick<VallumConfig, 'jwtClaimsHeaders' | 'identityHeadersMaxBytes'>;

export interface IdentityHeaderBuilder {
  build(session: SessionView, route: RouteConfig, audience: string): Promise<IdentityHeaders>;
  /** What `build` would return, when the assertion is signed already; the same object while it stays valid. */
  peek(session: SessionView, route: RouteConfig, audience: string): IdentityHeaders | undefined;
  /** Lower-cased names of the claim headers, which clients may never send themselves. */
  readonly names: ReadonlySet<string>;
}

export function createIdentityHeaderBuilder(config: IdentityHeaderConfig, assertions: AssertionSigner): IdentityHeaderBuilder {
  const claimHeaders = Object.entries(config.jwtClaimsHeaders);
  const budget = config.identityHeadersMaxBytes;
  const mentioned = new WeakMap<RouteConfig, ReadonlySet<string>>();
  const policyGroups = (route: RouteConfig) => {
    let groups = mentioned.get(route);
    if (!groups) mentioned.set(route, (groups = groupsIn(route.policy)));
    return groups;
  };

  const headersFor = (session: SessionView, groups: readonly string[]) => {
    const extra: Record<string, string> = {};
    for (const [name, claim] of claimHeaders) {
      const value = claimValue(session, claim, groups);
      if (value !== undefined) extra[name] = value;
    }
    return { email: headerValue(session.email), groups: groups.map(headerValue), extra };
  };
  const sizeOf = (h: ReturnType<typeof headersFor>) => {
    const email = h.email.length;
    const groups = h.groups.reduce((n, g) => n + g.length + 1, 0);
    // The assertion carries email and groups as JSON ("g", per group), base64url-encoded.
    const jwt = JWT_OVERHEAD + Math.ceil(((email + groups + 2 * h.groups.length) * 4) / 3);
    const extra = Object.entries(h.extra).reduce((n, [k, v]) => n + k.length + v.length + LINE_OVERHEAD, 0);
    return BASE_HEADERS.reduce((n, k) => n + k.length + LINE_OVERHEAD, 0) + email + groups + jwt + extra;
  };

  const fit = (session: SessionView, route: RouteConfig) => {
    let groups: readonly string[] = session.groups;
    let headers = headersFor(session, groups);
    let trimmed = false;
    if (sizeOf(headers) > budget) {
      const wanted = policyGroups(route);
      groups = session.groups.filter((g) => wanted.has(g));
      headers = headersFor(session, groups);
      trimmed = true;
      while (groups.length > 0 && sizeOf(headers) > budget) {
        groups = groups.slice(0, Math.floor(groups.length / 2));
        headers = headersFor(session, groups);
      }
      for (const name of Object.keys(headers.extra)) if (sizeOf(headers) > budget) delete headers.extra[name];
    }
    return { headers, groups, trimmed };
  };
  type Entry = ReturnType<typeof fit> & { override: AssertionOverride | undefined; last?: IdentityHeaders };
  const built = new WeakMap<SessionView, Map<RouteConfig, Entry>>();
  // The headers are a pure function of the session and the route: worked out once per session copy (a refreshed
  // session is a new object, so the WeakMap forgets the old one by itself).
  const entryOf = (session: SessionView, route: RouteConfig): Entry => {
    let perRoute = built.get(session);
    if (!perRoute) built.set(session, (perRoute = new Map()));
    let entry = perRoute.get(route);
    if (!entry) {
      const f = fit(session, route);
      perRoute.set(route, (entry = { ...f, override: f.trimmed ? { groups: f.groups, variant: route.id } : undefined }));
    }
    return entry;
  };
  // One object per assertion: the director turns it into header lines once (see director.ts identityList).
  const withAssertion = (entry: Entry, assertion: string): IdentityHeaders => {
    if (entry.last?.assertion !== assertion) entry.last = { ...entry.headers, assertion };
    return entry.last;
  };

  return {
    names: new Set(claimHeaders.map(([name]) => name.toLowerCase())),
    async build(session, route, audience) {
      const entry = entryOf(session, route);
      return withAssertion(entry, await assertions.assertionFor(session, audience, entry.override));
    },
    peek(session, route, audience) {
      const entry = entryOf(session, route);
      const assertion = assertions.peek(session, audience, entry.override);
      return assertion === undefined ? undefined : withAssertion(entry, assertion);
    },
  };
}

/** Every group name a policy mentions: the strings under any `groups` key, however deeply nested. */
export function groupsIn(policy: unknown): ReadonlySet<string> {
  const found = new Set<string>();
  const strings = (value: unknown): void => {
    if (typeof value === 'string') found.add(value);
    else if (Array.isArray(value)) value.forEach(strings);
    else if (value && typeof value === 'object') Object.values(value).forEach(strings);
  };
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'groups') strings(inner);
        else walk(inner);
      }
    }
  };
  walk(policy);
  return found;
}

function claimValue(session: SessionView, claim: string, groups: readonly string[]): string | undefined {
  const value = claim === 'email' ? session.email : claim === 'groups' ? groups : claim === 'sub' ? session.sub : session.claims[claim];
  if (value === undefined || value === null || value === '') return undefined;
  if (Array.isArray(value)) return value.map((v) => headerValue(String(v))).join(',');
  return headerValue(typeof value === 'object' ? JSON.stringify(value) : String(value));
}

/** A value safe in an HTTP header: printable ASCII kept, everything else percent-encoded (never CR/LF). */
export function headerValue(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, (c) => {
    try {
      return encodeURIComponent(c);
    } catch {
      return '?';
    }
  });
}
