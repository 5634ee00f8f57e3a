// Claims the IdP did not put in the token itself: OIDC aggregated and distributed claims (Core §5.6.2), which is how
// an IdP says a user has more groups than fit in a token. `_claim_names` maps a claim to a source in `_claim_sources`:
// `{JWT}` inline (aggregated), or `{endpoint, access_token}` to fetch (distributed). A JWT, inline or fetched, must
// verify with the IdP's own keys; an endpoint may answer plain JSON instead (it was named by the signed token and is
// reached over https). A source that fails fails the whole step, so a session is never made with some groups missing
// (a `deny` on a group must not be escaped by an outage). The sources, whose access tokens are credentials, are
// never kept.
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { ErrorCodes, VallumError } from '@vallum/errors';
import { ASYMMETRIC_JWT_ALGORITHMS, IssuerUnreachableError, JWT_CLOCK_TOLERANCE_SECONDS, type KeyLookup } from '@vallum/session';

export interface ClaimSourceOptions {
  issuer: string;
  /** The IdP's signing keys. */
  keys: KeyLookup;
  /** Allow a plain-http endpoint (a loopback development IdP only). */
  allowInsecureHttp: boolean;
  /** Deadline of each endpoint fetch (default 5 s). */
  timeoutMs?: number;
  /** Called for a source Vallum cannot use without a credential it would have to hand to a third party. */
  onSkipped?: (claim: string, reason: string) => void;
}

/** Most bytes read from a claims endpoint. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

type Source = { JWT?: unknown; endpoint?: unknown; access_token?: unknown };

/** The claims with every aggregated and distributed claim resolved, and `_claim_names` / `_claim_sources` removed. */
export async function resolveClaimSources(claims: Record<string, unknown>, options: ClaimSourceOptions): Promise<Record<string, unknown>> {
  const { _claim_names: names, _claim_sources: sources, ...rest } = claims;
  if (!isObject(names) || !isObject(sources)) return rest;
  // One fetch per source, however many claims it carries.
  const fetched = new Map<string, Promise<Record<string, unknown> | undefined>>();
  for (const [claim, sourceId] of Object.entries(names)) {
    if (typeof sourceId !== 'string' || !Object.hasOwn(sources, sourceId)) throw invalid(`claim '${claim}' names no source`);
    const source = sources[sourceId];
    if (!isObject(source)) throw invalid(`claim source '${sourceId}' is not an object`);
    if (!fetched.has(sourceId)) fetched.set(sourceId, claimsFrom(source as Source, options));
    const values = await fetched.get(sourceId)!;
    if (values === undefined) {
      options.onSkipped?.(claim, 'the distributed claim source has no access_token');
      continue;
    }
    if (Object.hasOwn(values, claim)) rest[claim] = values[claim];
  }
  return rest;
}

async function claimsFrom(source: Source, options: ClaimSourceOptions): Promise<Record<string, unknown> | undefined> {
  if (typeof source.JWT === 'string') return verifiedClaims(source.JWT, options);
  if (typeof source.endpoint !== 'string') throw invalid('a claim source has neither JWT nor endpoint');
  // Without its own access token the endpoint would need the user's IdP token, which is never sent to another party.
  if (typeof source.access_token !== 'string' || source.access_token === '') return undefined;
  const url = URL.canParse(source.endpoint) ? new URL(source.endpoint) : undefined;
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && options.allowInsecureHttp))) throw invalid('a claims endpoint is not an https URL');
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${source.access_token}`, accept: 'application/jwt, application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    body = await res.text();
  } catch (cause) {
    throw unavailable(cause);
  }
  if (res.status >= 500 || res.status === 408 || res.status === 429) throw unavailable(new Error(`the claims endpoint answered ${res.status}`));
  if (!res.ok) throw invalid(`the claims endpoint answered ${res.status}`);
  if (body.length > MAX_RESPONSE_BYTES) throw invalid('the claims endpoint answered too much');
  const text = body.trim();
  if (/^[\w-]+\.[\w-]+\.[\w-]*$/.test(text)) return verifiedClaims(text, options);
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed)) return parsed;
  } catch {
    // reported below
  }
  throw invalid('the claims endpoint answered neither JSON nor a JWT');
}

/** A JWT's claims, once its signature verifies with the IdP's keys (never `none`, never an HMAC). */
async function verifiedClaims(token: string, options: ClaimSourceOptions): Promise<JWTPayload> {
  try {
    if (decodeProtectedHeader(token).alg === 'none') throw new Error('an unsigned JWT');
    const { payload } = await jwtVerify(token, options.keys, {
      issuer: options.issuer,
      algorithms: [...ASYMMETRIC_JWT_ALGORITHMS],
      clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS,
    });
    return payload;
  } catch (cause) {
    if (cause instanceof IssuerUnreachableError) throw unavailable(cause);
    throw invalid('a claims JWT does not verify with the IdP keys', cause);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unavailable(cause: unknown): VallumError {
  return new VallumError(ErrorCodes.IDP_UNAVAILABLE, 'Your groups could not be read from the identity provider right now. Please try again in a moment.', {
    status: 503,
    expose: true,
    cause,
  });
}

function invalid(detail: string, cause?: unknown): VallumError {
  return new VallumError(ErrorCodes.SIGN_IN_FAILED, `The identity provider's claim sources could not be used: ${detail}.`, { status: 400, cause });
}
