// Routing and paths: the most specific route wins (exact path, regex, longest prefix) whatever the file order,
// lookups stay flat with 10,000 routes, and paths/Host are rewritten as configured.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteConfig } from '@vallum/config';
import { loadVallumConfigText } from '@vallum/cmd';
import { createRouteTable } from '@vallum/proxy';
import { startEchoUpstream, type EchoUpstream } from '@vallum/testing';
import { publicRoute, startProxy, type TestProxy } from './proxy-fixture.js';

let proxy: TestProxy;
let echo: EchoUpstream;

before(async () => {
  echo = await startEchoUpstream();
  proxy = await startProxy(
    (port) =>
      publicRoute('r.localhost', port, `${echo.url}/catchall`) +
      publicRoute('r.localhost', port, `${echo.url}/regex`, 'regex: /api/v[0-9]+/items/[^/]+') +
      publicRoute('r.localhost', port, `${echo.url}/exact`, 'path: /api/v1/items/special') +
      publicRoute('r.localhost', port, `${echo.url}/api`, 'prefix: /api/') +
      publicRoute('r.localhost', port, `${echo.url}/deeper`, 'prefix: /api/v2/') +
      publicRoute('rw.localhost', port, `${echo.url}/base/`, 'prefix: /old/\nprefix_rewrite: /new/') +
      publicRoute('keep.localhost', port, echo.url, 'preserve_host_header: true') +
      publicRoute('set.localhost', port, echo.url, 'host_rewrite: internal.example'),
  );
});

after(async () => {
  await proxy?.close();
  await echo?.close();
});

const upstreamUrl = async (host: string, path: string, headers: Record<string, string> = {}) => {
  const res = await proxy.call(host, path, { headers });
  assert.equal(res.statusCode, 200, `${host}${path}`);
  return (await res.body.json()) as { url: string; headers: Record<string, string> };
};

test('exact path beats regex beats the longest prefix, whatever the file order', async () => {
  assert.equal((await upstreamUrl('r.localhost', '/api/v1/items/special')).url, '/exact/api/v1/items/special');
  assert.equal((await upstreamUrl('r.localhost', '/api/v1/items/42')).url, '/regex/api/v1/items/42');
  assert.equal((await upstreamUrl('r.localhost', '/api/v2/other')).url, '/deeper/api/v2/other');
  assert.equal((await upstreamUrl('r.localhost', '/api/x')).url, '/api/api/x');
  assert.equal((await upstreamUrl('r.localhost', '/elsewhere')).url, '/catchall/elsewhere');
  // The regex is anchored and compared with the normalised path.
  assert.equal((await upstreamUrl('r.localhost', '/api/v1/items/42/more')).url, '/api/api/v1/items/42/more');
  assert.equal((await upstreamUrl('r.localhost', '/x/../api/v%31/items/42')).url, '/regex/api/v1/items/42');
});

test('the to base path and request path join with one slash; the raw query is kept byte for byte', async () => {
  assert.equal((await upstreamUrl('r.localhost', '/dir?q=%2f%zz&a=1&a=2&;x')).url, '/catchall/dir?q=%2f%zz&a=1&a=2&;x');
  assert.equal((await upstreamUrl('rw.localhost', '/old/file?x=1')).url, '/base/new/file?x=1');
  assert.equal((await upstreamUrl('rw.localhost', '/old/')).url, '/base/new/');
});

test('preserve_host_header sends the client Host; host_rewrite a fixed one; default is the upstream host', async () => {
  assert.equal((await upstreamUrl('keep.localhost', '/')).headers.host, `keep.localhost:${proxy.port}`);
  assert.equal((await upstreamUrl('set.localhost', '/')).headers.host, 'internal.example');
  assert.equal((await upstreamUrl('r.localhost', '/')).headers.host, `127.0.0.1:${echo.port}`);
});

// What a lookup costs with 10,000 routes against 10 is a benchmark figure (bench/route-lookup.mjs), not a timed test.
test('10,000 routes: config loads and every route is reachable by its host and prefix', () => {
  const n = 10_000;
  let routes = '';
  for (let i = 0; i < n; i++) {
    routes += `  - from: http://h${i % 100}.localhost:8000\n    to: http://127.0.0.1:1\n    prefix: /p${i}/\n    allow_public_unauthenticated_access: true\n`;
  }
  const config = loadVallumConfigText(proxy.configText(routes), 'big.yaml', { env: {} });
  assert.equal(config.routes.length, n);
  const big = createRouteTable(config.routes);
  for (let i = 0; i < n; i += 97) assert.equal(big.match(`h${i % 100}.localhost:8000`, `/p${i}/x`)?.prefix, `/p${i}/`);
  assert.equal(big.match('h1.localhost:8000', '/p2/x'), undefined, 'a prefix of another host never matches');
});

test('same-specificity routes resolve to the first in the file; unknown hosts match nothing', () => {
  const r = (id: string, extra: Partial<RouteConfig>) => ({ id, host: 'a:80', prefix: '/', ...extra }) as RouteConfig;
  const table = createRouteTable([r('one', { prefix: '/x' }), r('two', { prefix: '/x' }), r('re1', { regex: '/y.*' }), r('re2', { regex: '/yy' })]);
  assert.equal(table.match('a:80', '/x1')?.id, 'one');
  assert.equal(table.match('a:80', '/yy')?.id, 're1');
  assert.equal(table.match('b:80', '/x'), undefined);
});

test('bad proxy settings are refused with file:line:column', () => {
  const bad = proxy.configText(`  - from: http://a.localhost:1
    to: ["http://127.0.0.1:1,0"]
    allow_public_unauthenticated_access: true
  - from: http://b.localhost:1
    to: http://127.0.0.1:1
    regex: "(unclosed"
    allow_public_unauthenticated_access: true
  - from: http://c.localhost:1
    to: [http://127.0.0.1:1, http://127.0.0.1:2]
    lb_policy: ring_hash
    prefix: /x
    path: /x
    allow_public_unauthenticated_access: true
`);
  assert.throws(
    () => loadVallumConfigText(bad, 'bad.yaml', { env: {} }),
    (err: Error) =>
      /bad\.yaml:\d+:\d+: to: weight must be 1\.\.1000/.test(err.message) &&
      /bad\.yaml:\d+:\d+: invalid regular expression/.test(err.message) &&
      /bad\.yaml:\d+:\d+: ring_hash needs/.test(err.message) &&
      /use only one of prefix, path and regex/.test(err.message),
  );
});
