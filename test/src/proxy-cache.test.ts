// The response cache on a route with `cache: {max_bytes}`, against a real upstream: freshness, Age, no-store,
// private, Authorization, Vary, revalidation with ETag and Last-Modified, and client conditional requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { publicRoute, startProxy, startUpstream, type TestProxy, type TestUpstream } from './proxy-fixture.js';

let proxy: TestProxy;
let upstream: TestUpstream;
const hits = new Map<string, number>();
const conditional: Array<Record<string, string | undefined>> = [];

before(async () => {
  upstream = await startUpstream((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    const send = (headers: Record<string, string>, body = `${path}#${n}`) => res.writeHead(200, { 'content-type': 'text/plain', ...headers }).end(body);
    switch (path) {
      case '/fresh':
        return send({ 'cache-control': 'max-age=60', age: '10', etag: '"f1"' });
      case '/no-store':
        return send({ 'cache-control': 'no-store' });
      case '/private':
        return send({ 'cache-control': 'private, max-age=60' });
      case '/shared':
        return send({ 'cache-control': 'public, max-age=60' });
      case '/vary':
        return send({ 'cache-control': 'max-age=60', vary: 'Accept-Language' }, `lang=${req.headers['accept-language']}#${n}`);
      case '/etag':
      case '/modified': {
        conditional.push({ 'if-none-match': req.headers['if-none-match'], 'if-modified-since': req.headers['if-modified-since'] });
        if (req.headers['if-none-match'] === '"v1"' || req.headers['if-modified-since'] === 'Tue, 24 Nov 2026 10:00:00 GMT') {
          return res.writeHead(304, { 'cache-control': path === '/etag' ? 'no-cache' : 'max-age=1' }).end();
        }
        return path === '/etag'
          ? send({ 'cache-control': 'no-cache', etag: '"v1"' })
          : send({ 'cache-control': 'max-age=1', 'last-modified': 'Tue, 24 Nov 2026 10:00:00 GMT' });
      }
      default:
        return send({});
    }
  });
  proxy = await startProxy(
    (port) => publicRoute('c.localhost', port, upstream.url, 'cache: { max_bytes: 1000000 }') + publicRoute('nc.localhost', port, upstream.url),
  );
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
});

const get = async (path: string, headers: Record<string, string> = {}, host = 'c.localhost') => {
  const res = await proxy.call(host, path, { headers });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
};

test('a fresh response is served from the cache with Age; routes without cache always reach the upstream', async () => {
  const first = await get('/fresh');
  assert.equal(first.body, '/fresh#1');
  const second = await get('/fresh');
  assert.equal(second.body, '/fresh#1');
  assert.equal(second.headers['x-cache'], 'HIT');
  assert.ok(Number(second.headers.age) >= 10, 'the upstream Age is kept and grows');
  assert.equal((await get('/fresh', {}, 'nc.localhost')).body, '/fresh#2');
  const head = await proxy.call('c.localhost', '/fresh', { method: 'HEAD' });
  assert.equal(head.headers['x-cache'], 'HIT');
  assert.equal(await head.body.text(), '');
});

test('no-store, private, and responses to Authorization are never reused; public ones are', async () => {
  assert.notEqual((await get('/no-store')).body, (await get('/no-store')).body);
  assert.notEqual((await get('/private')).body, (await get('/private')).body);
  assert.notEqual((await get('/other', { authorization: 'Bearer a' })).body, (await get('/other', { authorization: 'Bearer b' })).body);
  assert.equal((await get('/shared', { authorization: 'Bearer a' })).body, (await get('/shared', { authorization: 'Bearer b' })).body);
  assert.notEqual((await get('/fresh', { 'cache-control': 'no-store' })).headers['x-cache'], 'HIT');
});

test('Vary keeps one variant per value of the named request headers', async () => {
  const en = await get('/vary', { 'accept-language': 'en' });
  const fr = await get('/vary', { 'accept-language': 'fr' });
  assert.notEqual(en.body, fr.body);
  assert.equal((await get('/vary', { 'accept-language': 'en' })).body, en.body);
  assert.equal((await get('/vary', { 'accept-language': 'fr' })).body, fr.body);
});

test('stale entries are revalidated with If-None-Match or If-Modified-Since; a 304 refreshes them', async () => {
  const first = await get('/etag');
  const second = await get('/etag');
  assert.equal(second.status, 200);
  assert.equal(second.body, first.body);
  assert.equal(second.headers['x-cache'], 'REVALIDATED');
  assert.equal(conditional.at(-1)?.['if-none-match'], '"v1"');

  const m1 = await get('/modified');
  assert.equal((await get('/modified')).headers['x-cache'], 'HIT');
  await new Promise((r) => setTimeout(r, 1100));
  const m3 = await get('/modified');
  assert.equal(m3.body, m1.body);
  assert.equal(m3.headers['x-cache'], 'REVALIDATED');
  assert.equal(conditional.at(-1)?.['if-modified-since'], 'Tue, 24 Nov 2026 10:00:00 GMT');
});

test("a client's If-None-Match is answered 304 from a fresh entry", async () => {
  await get('/fresh');
  const res = await get('/fresh', { 'if-none-match': 'W/"f1"' });
  assert.equal(res.status, 304);
  assert.equal(res.body, '');
  assert.equal(res.headers.etag, '"f1"');
});
