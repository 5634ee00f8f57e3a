import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { loadConfigText, type RouteConfig } from '@vallum/config';
import { createPostKeeper } from './preserve-post.js';

const config = loadConfigText(
  `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: https://127.0.0.1:8010, client_id: vallum, client_secret: secret }
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
  - from: http://small.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
    preserve_post: { max_bytes: 10 }
  - from: http://off.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
    preserve_post: false
`,
  'vallum.yaml',
  { env: {} },
);
const [app, small, off] = config.routes as [RouteConfig, RouteConfig, RouteConfig];

function fakeStore() {
  const values = new Map<string, string>();
  return {
    values,
    putOneTimeValue: async (key: string, value: string) => void values.set(key, value),
    takeOneTimeValue: async (key: string) => {
      const value = values.get(key) ?? null;
      values.delete(key);
      return value;
    },
  };
}

function post(body: string, headers: Record<string, string> = {}): IncomingMessage {
  const req = Readable.from([Buffer.from(body)]) as unknown as IncomingMessage;
  req.method = 'POST';
  req.headers = { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://app.localhost:8000', ...headers };
  return req;
}

test('preserve_post: 64 KiB by default, per route limits and off; only same-origin form or JSON posts', () => {
  const keeper = createPostKeeper(config, fakeStore());
  assert.equal(config.preservePostMaxBytes, 65_536);
  assert.equal(keeper.limitFor(post(''), app), 65_536);
  assert.equal(keeper.limitFor(post('', { origin: 'http://small.localhost:8000' }), small), 10);
  assert.equal(keeper.limitFor(post('', { origin: 'http://off.localhost:8000' }), off), 0);
  assert.equal(keeper.limitFor(post('', { 'content-type': 'application/json' }), app), 65_536);
  assert.equal(keeper.limitFor(post('', { 'content-type': 'multipart/form-data; boundary=x' }), app), 65_536);
  assert.equal(keeper.limitFor(post('', { 'content-type': 'text/plain' }), app), 0, 'not a form');
  assert.equal(keeper.limitFor(post('', { 'content-encoding': 'gzip' }), app), 0, 'compressed');
  assert.equal(keeper.limitFor(post('', { 'content-length': '70000' }), app), 0, 'declared too large');
  assert.equal(keeper.limitFor(post('', { origin: 'https://evil.example' }), app), 0, 'another origin');
  assert.equal(keeper.limitFor(post('', { 'sec-fetch-site': 'same-site' }), app), 0, 'a sibling site');
  const get = post('');
  get.method = 'GET';
  assert.equal(keeper.limitFor(get, app), 0);
});

test('a kept post is sealed, taken once, and only for the page it was sent to', async () => {
  const store = fakeStore();
  const keeper = createPostKeeper(config, store);
  const cookie = await keeper.keep(post('secret=tell-no-one'), app, '/submit?x=1', 65_536, true);
  assert.match(String(cookie), /^_vallum_post=[A-Za-z0-9_-]{24}; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
  const [stored] = [...store.values.values()];
  assert.ok(stored && !stored.includes('tell-no-one') && !stored.includes(Buffer.from('secret=tell-no-one').toString('base64')));
  const header = String(cookie).split(';', 1)[0];
  const target = new URL('http://app.localhost:8000/submit?x=1');
  const taken = await keeper.take(header, target);
  assert.deepEqual(taken && { ...taken, body: Buffer.from(taken.body, 'base64').toString() }, {
    origin: 'http://app.localhost:8000',
    url: '/submit?x=1',
    contentType: 'application/x-www-form-urlencoded',
    body: 'secret=tell-no-one',
    iat: taken?.iat,
    exp: taken?.exp,
  });
  assert.equal(await keeper.take(header, target), null, 'a second replay finds nothing');

  const again = String(await keeper.keep(post('a=1'), app, '/submit', 65_536, false)).split(';', 1)[0];
  assert.equal(await keeper.take(again, new URL('http://app.localhost:8000/elsewhere')), null, 'not on another page');
  assert.equal(await keeper.take('_vallum_post=../../etc', target), null);
  assert.equal(await keeper.keep(post('a=123456789'), small, '/', 10, false), undefined, 'a body over the limit is not kept');
});
