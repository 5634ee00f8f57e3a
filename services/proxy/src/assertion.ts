// X-Vallum-Jwt-Assertion: an ES256 JWT per (session, audience), signed once and reused until near expiry, so a
// warm request costs a Map lookup, not a signature. The key comes from `signing_key` or is derived from
// shared_secret, so every proxy instance of one deployment signs with the same key without extra setup.
import { createECDH, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, type JWK } from 'jose';
import { BoundedCache, deriveKey, hotPathCounters, type Session } from '@vallum/session';

const LIFETIME_SECONDS = 300;
const RENEW_BEFORE_MS = 60_000;

export interface AssertionSigner {
  assertionFor(session: Session, audience: string): Promise<string>;
  jwks(): { keys: JWK[] };
  forget(sid: string): void;
}

export async function createAssertionSigner(options: { signingKeyPem?: string; sharedSecret: string }): Promise<AssertionSigner> {
  const privateKey = options.signingKeyPem ? createPrivateKey(options.signingKeyPem) : derivedP256Key(options.sharedSecret);
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  if (publicJwk.crv !== 'P-256') throw new Error('signing_key must be a P-256 (ES256) private key');
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] };
  const cache = new BoundedCache<string, string>(50_000);

  return {
    async assertionFor(session, audience) {
      const key = `${session.id}\n${audience}`;
      const hit = cache.get(key);
      if (hit) return hit;
      hotPathCounters.assertionSigns++;
      const now = Math.floor(Date.now() / 1000);
      const exp = Math.min(now + LIFETIME_SECONDS, Math.floor(session.expiresAt / 1000));
      const jwt = await new SignJWT({ email: session.email, groups: session.groups })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(audience)
        .setAudience(audience)
        .setSubject(session.sub)
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .sign(privateKey);
      cache.set(key, jwt, exp * 1000 - Date.now() - RENEW_BEFORE_MS);
      return jwt;
    },
    jwks: () => jwks,
    forget(sid) {
      cache.deleteWhere((_, key) => key.startsWith(`${sid}\n`));
    },
  };
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
