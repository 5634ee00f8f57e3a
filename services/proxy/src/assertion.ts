// X-Vallum-Jwt-Assertion: an ES256 JWT per (session, audience), signed once and reused until near expiry, so a
// warm request costs a Map lookup, not a signature. The key comes from `signing_key` or is derived from
// shared_secret, so every proxy instance of one deployment signs with the same key without extra setup.
//
// Rotation: when a reload brings a new key, the previous one stays in the JWKS until every assertion it signed has
// expired. The key ring outlives the signer, which a reload rebuilds: the composition root makes it once. Keys listed
// in `previous_signing_keys` (or derived from `previous_shared_secrets` when the key is derived) stay published for
// as long as they are listed, which also covers replicas still signing with them during a rolling upgrade.
import { createECDH, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, type JWK } from 'jose';
import { BoundedCache, createHotPathCounters, deriveKey, type HotPathCounters, type SessionView } from '@vallum/session';

export const ASSERTION_LIFETIME_SECONDS = 300;
const RENEW_BEFORE_MS = 60_000;

export interface AssertionSigner {
  /** `override` signs a variant with fewer groups (the header budget), cached apart under `variant`. */
  assertionFor(session: SessionView, audience: string, override?: AssertionOverride): Promise<string>;
  /** The assertion `assertionFor` would return, if it is signed already and not yet due for renewal. */
  peek(session: SessionView, audience: string, override?: AssertionOverride): string | undefined;
  jwks(): { keys: JWK[] };
  forget(sid: string): void;
}

export interface AssertionOverride {
  groups: readonly string[];
  variant: string;
}

type PublicJwk = JWK & { kid: string };

/** The key this process signs with now, and retired keys with the time their last assertion expires. */
export interface KeyRing {
  current: PublicJwk | undefined;
  readonly retired: Map<string, { jwk: PublicJwk; until: number }>;
}

export function createKeyRing(): KeyRing {
  return { current: undefined, retired: new Map() };
}

export interface AssertionSignerOptions {
  signingKeyPem?: string | undefined;
  sharedSecret: string;
  /** Keys that no longer sign but stay in the JWKS. */
  previousSigningKeyPems?: readonly string[] | undefined;
  /** When the key is derived (no `signingKeyPem`), the keys derived from these stay in the JWKS too. */
  previousSharedSecrets?: readonly string[] | undefined;
  /** The process's key ring, shared by the signers of successive configs. */
  keyRing: KeyRing;
  counters?: HotPathCounters;
  now?: () => number;
}

export async function createAssertionSigner(options: AssertionSignerOptions): Promise<AssertionSigner> {
  const now = options.now ?? Date.now;
  const { keyRing } = options;
  const counters = options.counters ?? createHotPathCounters();
  const privateKey = options.signingKeyPem ? createPrivateKey(options.signingKeyPem) : derivedP256Key(options.sharedSecret);
  const current = await publicJwkOf(privateKey, 'signing_key');
  const { kid } = current;
  const previousKeys = [
    ...(options.previousSigningKeyPems ?? []).map((pem) => createPrivateKey(pem)),
    ...(options.signingKeyPem ? [] : (options.previousSharedSecrets ?? []).map(derivedP256Key)),
  ];
  const published = new Map<string, PublicJwk>();
  for (const key of previousKeys) {
    const jwk = await publicJwkOf(key, 'previous_signing_keys');
    if (jwk.kid !== kid) published.set(jwk.kid, jwk);
  }
  if (keyRing.current && keyRing.current.kid !== kid) {
    keyRing.retired.set(keyRing.current.kid, { jwk: keyRing.current, until: now() + ASSERTION_LIFETIME_SECONDS * 1000 });
  }
  keyRing.retired.delete(kid);
  keyRing.current = current;
  // Keyed by session id first: forget(sid) drops that session's assertions without a scan.
  const cache = new BoundedCache<string, string>({ maxEntries: 50_000, groupOf: (key) => key.slice(0, key.indexOf('\n')) });
  // The last key of each session copy, kept: building and hashing a new key string per request costs more than the lookup.
  const lastKey = new WeakMap<SessionView, { audience: string; variant: string; key: string }>();
  const keyOf = (session: SessionView, audience: string, override: AssertionOverride | undefined) => {
    const variant = override?.variant ?? '';
    const last = lastKey.get(session);
    if (last !== undefined && last.audience === audience && last.variant === variant) return last.key;
    const key = `${session.id}\n${audience}\n${variant}`;
    lastKey.set(session, { audience, variant, key });
    return key;
  };

  return {
    peek: (session, audience, override) => cache.get(keyOf(session, audience, override)),
    async assertionFor(session, audience, override) {
      const key = keyOf(session, audience, override);
      const hit = cache.get(key);
      if (hit) return hit;
      counters.assertionSigns++;
      const iat = Math.floor(now() / 1000);
      const exp = Math.min(iat + ASSERTION_LIFETIME_SECONDS, Math.floor(session.expiresAt / 1000));
      const jwt = await new SignJWT({ email: session.email, groups: override?.groups ?? session.groups })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(audience)
        .setAudience(audience)
        .setSubject(session.sub)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(privateKey);
      cache.set(key, jwt, exp * 1000 - now() - RENEW_BEFORE_MS);
      return jwt;
    },
    jwks() {
      const t = now();
      const keys: JWK[] = [current, ...published.values()];
      for (const [retiredKid, { jwk, until }] of keyRing.retired) {
        if (until <= t) keyRing.retired.delete(retiredKid);
        else if (retiredKid !== kid && !published.has(retiredKid)) keys.push(jwk);
      }
      return { keys };
    },
    forget(sid) {
      cache.deleteGroup(sid);
    },
  };
}

async function publicJwkOf(privateKey: KeyObject, setting: string): Promise<PublicJwk> {
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  if (publicJwk.crv !== 'P-256') throw new Error(`${setting} must be a P-256 (ES256) private key`);
  return { ...publicJwk, kid: await calculateJwkThumbprint(publicJwk), alg: 'ES256', use: 'sig' };
}

function derivedP256Key(secret: string): KeyObject {
  const d = Buffer.from(deriveKey(secret, 'jwt-signing-key'));
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey();
  return createPrivateKey({
    format: 'jwk',
    key: { kty: 'EC', crv: 'P-256', d: d.toString('base64url'), x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33, 65).toString('base64url') },
  });
}
