// An issuer's keys over real HTTP on loopback: OIDC discovery, the RFC 8414 fallback, a jwks_url, and the refusals
// (another issuer in the metadata, plain http without its flag), and an unreachable issuer failing fast, then retried.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { createRemoteKeys, IssuerUnreachableError } from './remote-keys.js';

const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });
let requests: string[] = [];
let down = false;
const server = createServer((req, res) => {
  requests.push(req.url ?? '');
  if (down) return void res.writeHead(503).end();
  const meta = (issuer: string) => JSON.stringify({ issuer, jwks_uri: `${base}/keys` });
  if (req.url === '/oidc/.well-known/openid-configuration') res.end(meta(`${base}/oidc`));
  else if (req.url === '/.well-known/oauth-authorization-server/oauth') res.end(meta(`${base}/oauth`));
  else if (req.url === '/liar/.well-known/openid-configuration') res.end(meta('https://someone-else.example'));
  else if (req.url === '/keys') res.end(jwks);
  else res.writeHead(404).end();
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
after(() => server.close());

const tokenFor = (iss: string) => new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(iss).sign(privateKey);
const verifies = async (iss: string, options: Parameters<typeof createRemoteKeys>[0]) =>
  (await jwtVerify(await tokenFor(iss), createRemoteKeys(options))).payload.iss;

test('keys by OIDC discovery, by RFC 8414 metadata when there is none, and at a jwks_url', async () => {
  assert.equal(await verifies(`${base}/oidc`, { issuer: `${base}/oidc`, allowInsecureHttp: true }), `${base}/oidc`);
  requests = [];
  assert.equal(await verifies(`${base}/oauth`, { issuer: `${base}/oauth`, allowInsecureHttp: true }), `${base}/oauth`);
  assert.deepEqual(requests, ['/oauth/.well-known/openid-configuration', '/.well-known/oauth-authorization-server/oauth', '/keys']);
  assert.equal(
    await verifies('https://k8s.example', { issuer: 'https://k8s.example', jwksUrl: `${base}/keys`, allowInsecureHttp: true }),
    'https://k8s.example',
  );
});

test('metadata naming another issuer, and plain http without allow_insecure_http, are refused', async () => {
  await assert.rejects(verifies(`${base}/liar`, { issuer: `${base}/liar`, allowInsecureHttp: true }), IssuerUnreachableError);
  await assert.rejects(verifies('https://k8s.example', { issuer: 'https://k8s.example', jwksUrl: `${base}/keys` }), (err: Error) => {
    assert.ok(err instanceof IssuerUnreachableError);
    assert.match(String((err.cause as Error).message), /jwks_uri http:.* is not https/);
    return true;
  });
});

test('an issuer that is down fails fast until retryAfterMs, then is asked again and used', async () => {
  down = true;
  const keys = createRemoteKeys({ issuer: `${base}/oidc`, allowInsecureHttp: true, retryAfterMs: 300 });
  const token = await tokenFor(`${base}/oidc`);
  await assert.rejects(jwtVerify(token, keys), IssuerUnreachableError);
  requests = [];
  await assert.rejects(jwtVerify(token, keys), IssuerUnreachableError);
  assert.deepEqual(requests, [], 'no fetch while it is known to be down');
  down = false;
  await new Promise((r) => setTimeout(r, 350));
  assert.equal((await jwtVerify(token, keys)).payload.iss, `${base}/oidc`);
});
