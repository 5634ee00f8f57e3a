// IdP tokens never sit in Redis in clear, and only authenticate gets them from the cache API (issue 17, point 6).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createServiceTokenSigner } from '@vallum/service-auth';
import type { Session } from '@vallum/session';
import { startRedis } from '@vallum/testing';
import { buildApp, createRedisStore } from './index.js';

const SECRET = 's'.repeat(32);
const redis = await startRedis();
const raw = new Redis(redis.url);
const store = createRedisStore(redis.url, { tokenSecret: SECRET });
after(async () => {
  await store.close();
  raw.disconnect();
  await redis.stop();
});

const TOKENS = { idToken: 'id.tok.en-1', accessToken: 'access-tok-1', refreshToken: 'refresh-tok-1' };
function session(id: string): Session {
  const now = Date.now();
  return { id, sub: `sub-${id}`, email: `${id}@example.com`, groups: ['g'], claims: {}, ...TOKENS, createdAt: now, expiresAt: now + 60_000 };
}

test('a Redis dump shows no IdP token in clear, and the store reads them back', async () => {
  await store.putSession(session('dump-1'));
  await store.updateSession({ ...session('dump-1'), accessToken: 'access-tok-2' });
  const dump = JSON.stringify(
    await Promise.all(
      (await raw.keys('*')).map(async (k) => {
        const type = await raw.type(k);
        return [k, type === 'string' ? await raw.get(k) : type === 'zset' ? await raw.zrange(k, 0, -1, 'WITHSCORES') : await raw.smembers(k)];
      }),
    ),
  );
  for (const token of [...Object.values(TOKENS), 'access-tok-2']) assert.ok(!dump.includes(token), `${token} in clear in ${dump}`);
  assert.equal((await store.getSession('dump-1'))?.accessToken, 'access-tok-2');
  assert.equal((await store.getSession('dump-1'))?.refreshToken, 'refresh-tok-1');
  // A restarted cache service (a new store, the same secret) opens them too.
  const restarted = createRedisStore(redis.url, { tokenSecret: SECRET });
  try {
    assert.equal((await restarted.getSession('dump-1'))?.idToken, TOKENS.idToken);
  } finally {
    await restarted.close();
  }
});

test('a record written before tokens were sealed is still read; garbage or another key reads as signed out', async () => {
  const legacy = session('legacy-1');
  await raw.set('vallum:{legacy-1}:session', JSON.stringify(legacy), 'PX', 60_000);
  assert.deepEqual(await store.getSession('legacy-1'), legacy);

  await raw.set('vallum:{garbage-1}:session', '{not json', 'PX', 60_000);
  assert.equal(await store.getSession('garbage-1'), null);

  const other = createRedisStore(redis.url, { tokenSecret: 'o'.repeat(32) });
  try {
    await other.putSession(session('other-key-1'));
    assert.equal(await store.getSession('other-key-1'), null);
  } finally {
    await other.close();
  }

  // A sealed value copied onto another session does not open there.
  await store.putSession(session('victim-1'));
  await raw.set('vallum:{copy-1}:session', (await raw.get('vallum:{victim-1}:session'))!.replace('"id":"victim-1"', '"id":"copy-1"'), 'PX', 60_000);
  assert.equal(await store.getSession('copy-1'), null);
});

test('the cache API gives IdP tokens to authenticate only: the proxy gets sessions without them', async () => {
  const app = buildApp({ sharedSecret: SECRET }, { store, logger: false });
  after(() => app.close());
  await store.putSession({ ...session('api-1'), idpSid: 'idp-api-1' });
  const as = async (caller: string, url: string) => {
    const token = await createServiceTokenSigner(SECRET, caller).token('cache');
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 200, res.body);
    return res.body;
  };
  for (const url of ['/v1/sessions/api-1', '/v1/users/sub-api-1/sessions', '/v1/idp-sessions/idp-api-1/sessions']) {
    const forProxy = await as('proxy', url);
    assert.match(forProxy, /api-1@example\.com/);
    for (const token of Object.values(TOKENS)) assert.ok(!forProxy.includes(token), `${url} gave the proxy ${token}`);
    assert.ok((await as('authenticate', url)).includes(TOKENS.refreshToken), `${url} must give authenticate its tokens`);
  }
});
