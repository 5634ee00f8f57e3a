// An issuer's signing keys, found by OIDC discovery (or OAuth 2.0 metadata, RFC 8414) or at a configured JWKS URL,
// and kept by jose's remote key set: cached, fetched again for an unknown `kid` at most once per cooldown. Every
// fetch has a deadline, and an issuer that cannot be reached fails fast for a while, then is tried again: a request
// never waits on a dead issuer longer than one timeout, and it recovers by itself.
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';

export interface RemoteKeysOptions {
  issuer: string;
  /** Where the keys are; found by discovery from `issuer` when absent. */
  jwksUrl?: string | undefined;
  /** Accept plain-http metadata and key URLs (loopback development only). */
  allowInsecureHttp?: boolean;
  /** Deadline of each metadata or key fetch (default 3 s). */
  timeoutMs?: number;
  /** Least time between two fetches for an unknown `kid` (default 5 s). */
  cooldownMs?: number;
  /** How long an unreachable issuer is answered as unavailable before it is tried again (default 5 s). */
  retryAfterMs?: number;
}

export type KeyLookup = JWTVerifyGetKey;

/** The issuer's metadata or keys cannot be fetched: the token is neither good nor bad yet. */
export class IssuerUnreachableError extends Error {
  constructor(
    readonly issuer: string,
    cause: unknown,
  ) {
    super(`the keys of issuer ${issuer} cannot be fetched`, { cause });
    this.name = 'IssuerUnreachableError';
  }
}

/** jose's verdicts on the token itself (its `kid` or key type), as opposed to failures to reach the issuer. */
const TOKEN_PROBLEMS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED', 'ERR_JWK_INVALID']);

export function createRemoteKeys(options: RemoteKeysOptions): KeyLookup {
  const timeoutMs = options.timeoutMs ?? 3000;
  const retryAfterMs = options.retryAfterMs ?? 5000;
  const checkScheme = (url: URL, what: string) => {
    if (url.protocol === 'https:' || (url.protocol === 'http:' && options.allowInsecureHttp)) return url;
    throw new Error(`${what} ${url.href} is not https`);
  };
  let keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  let pending: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  let failedUntil = 0;
  let lastFailure: unknown;

  const keySet = async () => {
    if (!options.jwksUrl) checkScheme(new URL(options.issuer), 'issuer');
    const url = options.jwksUrl ? new URL(options.jwksUrl) : new URL(await discoverJwksUri(options.issuer, timeoutMs));
    return createRemoteJWKSet(checkScheme(url, 'jwks_uri'), { timeoutDuration: timeoutMs, cooldownDuration: options.cooldownMs ?? 5000 });
  };
  const unreachable = (err: unknown): never => {
    failedUntil = Date.now() + retryAfterMs;
    lastFailure = err;
    throw new IssuerUnreachableError(options.issuer, err);
  };

  return async (header, token) => {
    if (Date.now() < failedUntil) throw new IssuerUnreachableError(options.issuer, lastFailure);
    if (!keys) {
      pending ??= keySet().finally(() => (pending = undefined));
      keys = await pending.catch(unreachable);
    }
    try {
      return await keys(header, token);
    } catch (err) {
      if (TOKEN_PROBLEMS.has((err as { code?: string }).code ?? '')) throw err;
      return unreachable(err);
    }
  };
}

/** `jwks_uri` from the issuer's OIDC discovery document, else its RFC 8414 metadata; the metadata must name the same issuer. */
async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  const base = new URL(issuer);
  const path = base.pathname.replace(/\/$/, '');
  const candidates = [new URL(`${path}/.well-known/openid-configuration`, base.origin), new URL(`/.well-known/oauth-authorization-server${path}`, base.origin)];
  let failure: unknown;
  for (const url of candidates) {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
    if (res.status === 404) {
      await res.body?.cancel();
      failure = new Error(`no metadata at ${url.href}`);
      continue;
    }
    if (!res.ok) throw new Error(`metadata at ${url.href} answered ${res.status}`);
    const metadata = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (metadata.issuer !== issuer) throw new Error(`metadata at ${url.href} names another issuer`);
    if (typeof metadata.jwks_uri !== 'string') throw new Error(`metadata at ${url.href} has no jwks_uri`);
    return metadata.jwks_uri;
  }
  throw failure;
}
