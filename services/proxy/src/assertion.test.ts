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

test('previous signing keys stay published in the JWKS for as long as they are listed, and never sign', async () => {
  const oldPem = pem();
  const keyRing = createKeyRing();
  const old = await createAssertionSigner({ signingKeyPem: oldPem, sharedSecret: 'x'.repeat(32), keyRing: createKeyRing() });
  const signed = await old.assertionFor(session, 'app.example');
  // Another process (a replica rolled later, or a restart) that lists the old key: no ring history needed.
  const rotated = await createAssertionSigner({ signingKeyPem: pem(), previousSigningKeyPems: [oldPem], sharedSecret: 'x'.repeat(32), keyRing });
  await jwtVerify(signed, createLocalJWKSet(rotated.jwks()), { audience: 'app.example', algorithms: ['ES256'] });
  const fresh = await rotated.assertionFor(session, 'app.example');
  assert.notEqual(decodeProtectedHeader(fresh).kid, decodeProtectedHeader(signed).kid);
  const dropped = await createAssertionSigner({ signingKeyPem: pem(), sharedSecret: 'x'.repeat(32), keyRing: createKeyRing() });
  await assert.rejects(jwtVerify(signed, createLocalJWKSet(dropped.jwks()), { audience: 'app.example', algorithms: ['ES256'] }));
});

test('with a derived signing key, the keys of previous shared secrets stay published', async () => {
  const old = await createAssertionSigner({ sharedSecret: 'o'.repeat(32), keyRing: createKeyRing() });
  const signed = await old.assertionFor(session, 'app.example');
  const rotated = await createAssertionSigner({ sharedSecret: 'n'.repeat(32), previousSharedSecrets: ['o'.repeat(32)], keyRing: createKeyRing() });
  assert.equal(rotated.jwks().keys.length, 2);
  await jwtVerify(signed, createLocalJWKSet(rotated.jwks()), { audience: 'app.example', algorithms: ['ES256'] });
  const unlisted = await createAssertionSigner({ sharedSecret: 'n'.repeat(32), keyRing: createKeyRing() });
  assert.equal(unlisted.jwks().keys.length, 1);
});

test('peek answers the assertion of the audience and variant asked, whichever was asked last', async () => {
  const signer = await createAssertionSigner({ sharedSecret: 'z'.repeat(32), keyRing: createKeyRing() });
  const trimmed = { groups: [], variant: 'route-1' };
  const a = await signer.assertionFor(session, 'a.example');
  const b = await signer.assertionFor(session, 'b.example');
  const aTrimmed = await signer.assertionFor(session, 'a.example', trimmed);
  assert.equal(new Set([a, b, aTrimmed]).size, 3);
  for (let i = 0; i < 2; i++) {
    assert.equal(signer.peek(session, 'a.example'), a);
    assert.equal(signer.peek(session, 'a.example', trimmed), aTrimmed);
    assert.equal(signer.peek(session, 'b.example'), b);
    assert.equal(signer.peek(session, 'c.example'), undefined);
  }
});
