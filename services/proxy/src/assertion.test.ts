import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { Session } from '@vallum/session';
import { ASSERTION_LIFETIME_SECONDS, createAssertionSigner, createKeyRing } from './assertion.js';

const pem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const session: Session = { id: 's', sub: 'u', email: 'u@example.com', groups: [], claims: {}, createdAt: Date.now(), expiresAt: Date.now() + 3600_000 };

test('a rotated signing key stays in the JWKS until the assertions it signed have expired', async () => {
  let clock = Date.now();
  const now = () => clock;
  // One ring for the process: a reload builds a new signer on it.
  const keyRing = createKeyRing();
  const before = await createAssertionSigner({ signingKeyPem: pem(), sharedSecret: 'x'.repeat(32), keyRing, now });
  const old = await before.assertionFor(session, 'app.example');
  const after = await createAssertionSigner({ signingKeyPem: pem(), sharedSecret: 'x'.repeat(32), keyRing, now });
  const fresh = await after.assertionFor(session, 'app.example');
  assert.notEqual(decodeProtectedHeader(old).kid, decodeProtectedHeader(fresh).kid);
  assert.equal(after.jwks().keys.length, 2);
  for (const jwt of [old, fresh]) await jwtVerify(jwt, createLocalJWKSet(after.jwks()), { audience: 'app.example', algorithms: ['ES256'] });
  clock += ASSERTION_LIFETIME_SECONDS * 1000 + 1;
  assert.deepEqual(
    after.jwks().keys.map((k) => k.kid),
    [decodeProtectedHeader(fresh).kid],
  );
});

test('one signature per (session, audience) until near expiry', async () => {
  const signer = await createAssertionSigner({ sharedSecret: 'y'.repeat(32), keyRing: createKeyRing() });
  const a = await signer.assertionFor(session, 'a.example');
  assert.equal(await signer.assertionFor(session, 'a.example'), a);
  assert.notEqual(await signer.assertionFor(session, 'b.example'), a);
  signer.forget(session.id);
  assert.ok(decodeProtectedHeader(await signer.assertionFor(session, 'a.example')).kid);
});
