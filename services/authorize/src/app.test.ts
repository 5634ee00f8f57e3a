import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { loadConfigText } from '@vallum/config';
import type { Decision, Identity } from '@vallum/policy';
import { createServiceTokenSigner } from '@vallum/service-auth';
import { createHttpAuthorizeClient, type AuthorizeRequest } from '@vallum/service-client';
import { buildApp, createAuthorizer } from './index.js';
import { CONFIG } from './test-fixtures.js';

const config = loadConfigText(CONFIG, 'vallum.yaml', { env: {} });
const request = { method: 'GET', host: 'wiki.localhost:8000', path: '/docs' };
const eve: Identity = { sub: 'e', email: 'eve@example.com', groups: ['engineering'], claims: { department: 'engineering' } };
const mallory: Identity = { sub: 'm', email: 'mallory@example.com', groups: ['engineering', 'contractors'], claims: {} };

async function listen() {
  const app = buildApp(config, { logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { app, url };
}

test('over HTTP the decision is the same as in-process', async (t) => {
  const { app, url } = await listen();
  t.after(() => app.close());
  const client = createHttpAuthorizeClient({ url, service: 'authorize', signer: createServiceTokenSigner(config.sharedSecret, 'proxy') });
  const local = createAuthorizer(config);
  const inputs: AuthorizeRequest[] = [
    { routeId: 'wiki', identity: eve, request },
    { routeId: 'wiki', identity: mallory, request },
    { routeId: 'wiki', identity: null, request },
    { routeId: 'status', identity: null, request },
    { routeId: 'missing', identity: eve, request },
  ];
  // cacheable_until depends on the clock of whoever decided; everything else must match exactly.
  const timeless = ({ cacheableUntil, ...rest }: Decision) => ({ ...rest, cacheable: cacheableUntil !== undefined });
  for (const input of inputs) assert.deepEqual(timeless(await client.evaluate(input)), timeless(await local.evaluate(input)), input.routeId);
  assert.equal((await client.evaluate(inputs[0]!)).allow, true);
  assert.equal((await client.evaluate(inputs[1]!)).allow, false);
});

test('POST /v1/evaluate without a valid service token is 401', async (t) => {
  const { app, url } = await listen();
  t.after(() => app.close());
  const body = JSON.stringify({ routeId: 'wiki', identity: eve, request });
  const post = (authorization?: string) =>
    fetch(`${url}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body,
    });

  const none = await post();
  assert.equal(none.status, 401);
  assert.equal(((await none.json()) as { code: string }).code, 'VALLUM_SERVICE_AUTH_REQUIRED');

  const forged = await createServiceTokenSigner('x'.repeat(32), 'proxy').token('authorize');
  assert.equal((await post(`Bearer ${forged}`)).status, 401);

  const otherAudience = await createServiceTokenSigner(config.sharedSecret, 'proxy').token('cache');
  assert.equal((await post(`Bearer ${otherAudience}`)).status, 401);
});

test('a malformed body is refused by the schema with 400', async () => {
  const app = buildApp(config, { logger: false });
  const token = await createServiceTokenSigner(config.sharedSecret, 'proxy').token('authorize');
  const res = await app.inject({
    method: 'POST',
    url: '/v1/evaluate',
    headers: { authorization: `Bearer ${token}` },
    payload: { routeId: 'wiki', identity: { email: 'eve@example.com' }, request },
  });
  assert.equal(res.statusCode, 400);
  await app.close();
});

test('buildApp uses an injected authorizer', async () => {
  let calls = 0;
  const app = buildApp(config, {
    logger: false,
    authorizer: {
      decide: () => (calls++, { allow: true, reasons: [{ code: 'user-ok', message: 'signed in' }] }),
      evaluate: async () => ({ allow: false, reasons: [] }),
      explain: () => ({ routeId: 'x', policyVersion: 'v', decision: { allow: false, reasons: [] } }),
      shadowDenials: () => 0,
      policyVersion: 'v',
    },
  });
  const token = await createServiceTokenSigner(config.sharedSecret, 'proxy').token('authorize');
  const res = await app.inject({
    method: 'POST',
    url: '/v1/evaluate',
    headers: { authorization: `Bearer ${token}` },
    payload: { routeId: 'anything', identity: null, request },
  });
  assert.deepEqual(res.json(), { allow: true, reasons: [{ code: 'user-ok', message: 'signed in' }] });
  assert.equal(calls, 1);
  await app.close();
});

test('POST /v1/explain answers the decision and policy version behind a service token, and takes headers and client address', async () => {
  const app = buildApp(config, { logger: false });
  const token = await createServiceTokenSigner(config.sharedSecret, 'proxy').token('authorize');
  const payload = { routeId: 'chat', identity: eve, request: { ...request, headers: { 'x-team': 'blue' }, sourceIp: '10.0.0.1' }, requestId: 'r1' };
  const res = await app.inject({ method: 'POST', url: '/v1/explain', headers: { authorization: `Bearer ${token}` }, payload });
  assert.equal(res.statusCode, 200);
  const body = res.json() as { routeId: string; policyVersion: string; decision: Decision; route?: Decision };
  assert.equal(body.routeId, 'chat');
  assert.equal(body.decision.allow, true);
  assert.equal(body.route?.allow, true, 'allow_any_authenticated_user routes explain their own rule');
  assert.equal(body.policyVersion, createAuthorizer(config).policyVersion);
  assert.equal((await app.inject({ method: 'POST', url: '/v1/explain', payload })).statusCode, 401);
  await app.close();
});
