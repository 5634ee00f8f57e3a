// Rotation: what a previous secret made is accepted while it is listed after the current one, and refused once it
// is not; what is made from then on uses the current secret only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createApiTokenCodec, createHandoffCodec, createSealedValueCodec, createSessionCookieCodec, withEachKey } from './index.js';

const OLD = 'o'.repeat(32);
const NEW = 'n'.repeat(32);
const hour = () => Date.now() + 3600_000;

test('a session cookie sealed with a previous cookie_secret opens while it is listed, and not once it is dropped', async () => {
  const ticket = { sid: 'sid-1', expiresAt: Math.floor(hour() / 1000) * 1000 };
  const sealedOld = await createSessionCookieCodec(OLD).seal(ticket);
  assert.deepEqual(await createSessionCookieCodec([NEW, OLD]).open(sealedOld), ticket);
  assert.equal(await createSessionCookieCodec(NEW).open(sealedOld), null);
  assert.equal(await createSessionCookieCodec([NEW, 'p'.repeat(32)]).open(sealedOld), null);
  // New cookies are sealed with the current secret: a codec that knows only the old one cannot open them.
  const sealedNew = await createSessionCookieCodec([NEW, OLD]).seal(ticket);
  assert.equal(await createSessionCookieCodec(OLD).open(sealedNew), null);
  assert.deepEqual(await createSessionCookieCodec(NEW).open(sealedNew), ticket);
});

test('previous keys are tried only when the current one is not the key: a token failing for another reason is refused at once', async () => {
  const keys = [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])];
  const tried: number[] = [];
  const failWith = (code: string) => async (key: Uint8Array) => {
    tried.push(key[0]!);
    throw Object.assign(new Error(code), { code });
  };
  await assert.rejects(withEachKey(keys, failWith('ERR_JWT_EXPIRED')), { code: 'ERR_JWT_EXPIRED' });
  assert.deepEqual(tried, [1]);
  tried.length = 0;
  await assert.rejects(withEachKey(keys, failWith('ERR_JWE_DECRYPTION_FAILED')), { code: 'ERR_JWE_DECRYPTION_FAILED' });
  assert.deepEqual(tried, [1, 2, 3]);
  assert.equal(await withEachKey(keys, async (key) => key[0]), 1);
});

test('a sign-in state sealed with a previous cookie_secret opens while it is listed', async () => {
  const sealed = await createSealedValueCodec<{ v: string }>(OLD, 'sign-in-state').seal({ v: 'x' }, 60);
  assert.equal((await createSealedValueCodec<{ v: string }>([NEW, OLD], 'sign-in-state').open(sealed))?.v, 'x');
  assert.equal(await createSealedValueCodec<{ v: string }>(NEW, 'sign-in-state').open(sealed), null);
});

test('a hand-off signed with a previous shared_secret verifies while it is listed (services rolled one at a time)', async () => {
  const token = await createHandoffCodec(OLD).sign({ sid: 'sid-4', audience: 'http://app.localhost', redirectUri: '/', sessionExpiresAt: hour() });
  assert.equal((await createHandoffCodec([NEW, OLD]).verify(token, 'http://app.localhost')).sid, 'sid-4');
  await assert.rejects(createHandoffCodec(NEW).verify(token, 'http://app.localhost'), { code: 'VALLUM_HANDOFF_INVALID' });
  // Still checked for its audience with the previous key.
  await assert.rejects(createHandoffCodec([NEW, OLD]).verify(token, 'http://other.localhost'), { code: 'VALLUM_HANDOFF_INVALID' });
});

test('an API token signed with a previous shared_secret verifies while it is listed', async () => {
  const token = await createApiTokenCodec(OLD).sign({ kind: 'service-account', name: 'ci', groups: ['deploy'], expiresAt: hour() });
  assert.equal((await createApiTokenCodec([NEW, OLD]).verify(token))?.kind, 'service-account');
  assert.equal(await createApiTokenCodec(NEW).verify(token), null);
  const fresh = await createApiTokenCodec([NEW, OLD]).sign({ kind: 'session', sid: 'sid-5', expiresAt: hour() });
  assert.equal(await createApiTokenCodec(OLD).verify(fresh), null, 'signed with the current secret');
});
