import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServiceTokenSigner, createServiceTokenVerifier } from './index.js';

test('a token signed with the shared secret for an audience is accepted by that audience', async () => {
  const signer = createServiceTokenSigner('s'.repeat(32), 'proxy');
  const verifier = createServiceTokenVerifier('s'.repeat(32), 'authorize');
  assert.equal(await verifier.verify(`Bearer ${await signer.token('authorize')}`), 'proxy');
  assert.equal(await verifier.verify(`Bearer ${await signer.token('authorize')}`), 'proxy', 'remembered with its caller');
});

test('a token for another audience, another secret, or none at all is refused', async () => {
  const signer = createServiceTokenSigner('s'.repeat(32), 'proxy');
  const verifier = createServiceTokenVerifier('s'.repeat(32), 'authorize');
  await assert.rejects(verifier.verify(`Bearer ${await signer.token('cache')}`), { code: 'VALLUM_SERVICE_AUTH_REQUIRED' });
  const other = createServiceTokenSigner('t'.repeat(32), 'proxy');
  await assert.rejects(verifier.verify(`Bearer ${await other.token('authorize')}`), { status: 401 });
  await assert.rejects(verifier.verify(undefined), { status: 401 });
  await assert.rejects(verifier.verify('Bearer not.a.jwt'), { status: 401 });
});

test('the signer reuses its token instead of signing per call', async () => {
  const signer = createServiceTokenSigner('s'.repeat(32), 'proxy');
  assert.equal(await signer.token('cache'), await signer.token('cache'));
});

test('a service still on the previous shared_secret is accepted while it is listed, refused once it is not', async () => {
  const [oldSecret, newSecret] = ['o'.repeat(32), 'n'.repeat(32)];
  const notRolled = createServiceTokenSigner(oldSecret, 'proxy');
  const rolled = createServiceTokenSigner([newSecret, oldSecret], 'proxy');
  const during = createServiceTokenVerifier([newSecret, oldSecret], 'cache');
  assert.equal(await during.verify(`Bearer ${await notRolled.token('cache')}`), 'proxy');
  assert.equal(await during.verify(`Bearer ${await rolled.token('cache')}`), 'proxy');
  // A rolled service signs with the new secret only: a service not yet rolled refuses it unless it lists the new one.
  await assert.rejects(createServiceTokenVerifier(oldSecret, 'cache').verify(`Bearer ${await rolled.token('cache')}`), { status: 401 });
  await assert.rejects(createServiceTokenVerifier(newSecret, 'cache').verify(`Bearer ${await notRolled.token('cache')}`), { status: 401 });
});
