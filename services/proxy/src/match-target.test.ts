import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteConfig } from '@vallum/config';
import { matchTarget } from './match-target.js';
import { createRouteTable } from './route-table.js';

const route = (id: string, prefix: string, extra: Partial<RouteConfig> = {}) => ({ id, host: 'app:80', prefix, ...extra }) as RouteConfig;
const table = createRouteTable([route('public', '/public'), route('private', '/'), route('strict', '/strict', { rejectAmbiguousPaths: true })]);
const match = (target: string) => matchTarget(table, 'app:80', target);
const routeOf = (target: string) => {
  const m = match(target);
  return m.kind === 'route' ? m.route.id : m.status;
};

test('a dot segment hidden behind an encoded slash, backslash or ";" is refused when it leaves the public route', () => {
  for (const target of ['/public/..%2fprivate', '/public%2f..%2fprivate', '/public/..%5Cprivate', '/public/..;/private', '/public/..\\private']) {
    assert.equal(routeOf(target), 400, target);
  }
});

test('readings that all pick the same route keep it, with the other readings for the policy', () => {
  const m = match('/public/a%2Fb?x=1');
  assert.equal(m.kind, 'route');
  assert.equal(m.kind === 'route' && m.route.id, 'public');
  assert.equal(m.kind === 'route' && m.path, '/public/a%2Fb');
  assert.deepEqual(m.kind === 'route' && m.otherPaths, ['/public/a/b']);
  const admin = match('/;x/admin');
  assert.deepEqual(admin.kind === 'route' && [admin.route.id, admin.otherPaths], ['private', ['/admin']]);
});

test('a query, a fragment or a %23 never makes a protected path match a public prefix', () => {
  assert.equal(routeOf('/private?/public'), 'private');
  assert.equal(routeOf('/private%23/public'), 'private');
  assert.equal(routeOf('/private#/public'), 400);
  assert.equal(routeOf('/public#x'), 400);
});

test('reject_ambiguous_paths refuses every path a back end could read otherwise', () => {
  for (const target of ['/strict/a%2Fb', '/strict/a%5cb', '/strict/a\\b', '/strict/a;b', '/strict/a%3Bb']) assert.equal(routeOf(target), 400, target);
  assert.equal(routeOf('/strict/a%20b?q=%2F;x'), 'strict');
});
