// Aggregated and distributed claims against a real HTTP claims endpoint on loopback: what resolves, and every way a
// source fails (unreachable, refused, unsigned or foreign JWT, not https) with the status it fails with.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { resolveClaimSources, type ClaimSourceOptions } from './claim-sources.js';

const ISSUER = 'https://idp.example.com';
const idpKey = await generateKeyPair('ES256');
const foreignKey = await generateKeyPair('ES256');
const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(idpKey.publicKey)), kid: 'idp', alg: 'ES256' }] });
const sign = (key: Parameters<SignJWT['sign']>[0], claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'idp' }).setIssuer(ISSUER).sign(key);

const seen: IncomingHttpHeaders[] = [];
const server = createServer((req, res) => {
  seen.push(req.headers);
  const answers: Record<string, () => Promise<[number, string]>> = {
    '/json': async () => [200, JSON.stringify({ groups: ['a', 'b'], department: 'it' })],
    '/jwt': async () => [200, await sign(idpKey.privateKey, { groups: ['signed'] })],
    '/foreign': async () => [200, await sign(foreignKey.privateKey, { groups: ['forged'] })],
    '/none': async () => [200, `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"groups":["x"]}').toString('base64url')}.`],
    '/busy': async () => [503, ''],
    '/refused': async () => [401, ''],
    '/html': async () => [200, '<html>'],
  };
  if (req.url === '/hang') return;
  void answers[req.url ?? '']!().then(([status, body]) => res.writeHead(status).end(body));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
after(() => {
  server.closeAllConnections();
  server.close();
});

const options: ClaimSourceOptions = { issuer: ISSUER, keys, allowInsecureHttp: true, timeoutMs: 10_000 };
const distributed = (path: string, extra: Record<string, unknown> = {}) => ({
  sub: 'alice',
  _claim_names: { groups: 'src1', ...extra },
  _claim_sources: { src1: { endpoint: `${base}${path}`, access_token: 'source-token' } },
});

test('a distributed claim is fetched with its own access token (JSON or an IdP-signed JWT); the sources are dropped', async () => {
  seen.length = 0;
  const resolved = await resolveClaimSources(distributed('/json', { department: 'src1' }), options);
  assert.deepEqual(resolved, { sub: 'alice', groups: ['a', 'b'], department: 'it' });
  assert.equal(seen.length, 1, 'one fetch per source');
  assert.equal(seen[0]?.authorization, 'Bearer source-token');
  assert.deepEqual((await resolveClaimSources(distributed('/jwt'), options)).groups, ['signed']);
});

test('an aggregated claim (inline JWT) is used once it verifies with the IdP keys', async () => {
  const claims = { _claim_names: { groups: 'agg' }, _claim_sources: { agg: { JWT: await sign(idpKey.privateKey, { groups: ['inline'] }) } } };
  assert.deepEqual(await resolveClaimSources(claims, options), { groups: ['inline'] });
  const forged = { _claim_names: { groups: 'agg' }, _claim_sources: { agg: { JWT: await sign(foreignKey.privateKey, { groups: ['inline'] }) } } };
  await assert.rejects(resolveClaimSources(forged, options), { code: 'VALLUM_SIGN_IN_FAILED', status: 400 });
});

test('a source without its own access token is left unresolved: the IdP token is never sent elsewhere', async () => {
  seen.length = 0;
  const claims = { _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: `${base}/json` } } };
  assert.deepEqual(await resolveClaimSources(claims, options), {});
  assert.equal(seen.length, 0);
});

test('an endpoint that is down or busy is a 503 (try again); one that refuses or answers garbage fails the sign-in', async () => {
  const unavailable = { code: 'VALLUM_IDP_UNAVAILABLE', status: 503 };
  await assert.rejects(resolveClaimSources(distributed('/hang'), { ...options, timeoutMs: 300 }), unavailable, 'no answer within the deadline');
  await assert.rejects(resolveClaimSources(distributed('/busy'), options), unavailable, '503');
  const closed = { ...distributed('/json'), _claim_sources: { src1: { endpoint: 'http://127.0.0.1:1/x', access_token: 't' } } };
  await assert.rejects(resolveClaimSources(closed, options), { code: 'VALLUM_IDP_UNAVAILABLE' }, 'connection refused');
  for (const path of ['/refused', '/html', '/foreign', '/none']) {
    await assert.rejects(resolveClaimSources(distributed(path), options), { code: 'VALLUM_SIGN_IN_FAILED', status: 400 }, path);
  }
  await assert.rejects(resolveClaimSources(distributed('/json'), { ...options, allowInsecureHttp: false }), { code: 'VALLUM_SIGN_IN_FAILED' }, 'plain http');
  await assert.rejects(resolveClaimSources({ _claim_names: { groups: 'missing' }, _claim_sources: {} }, options), { code: 'VALLUM_SIGN_IN_FAILED' });
});
