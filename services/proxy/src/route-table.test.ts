import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteConfig } from '@vallum/config';
import { createRouteTable } from './route-table.js';

const route = (id: string, host: string, prefix = '/') => ({ id, host, prefix }) as RouteConfig;

test('the route of the request host with the longest matching prefix wins, whatever the file order', () => {
  const table = createRouteTable([route('all', 'app:80'), route('api', 'app:80', '/api/'), route('other', 'other:80')]);
  assert.equal(table.match('app:80', '/api/x')?.id, 'api');
  assert.equal(table.match('app:80', '/web')?.id, 'all');
  assert.equal(table.match('other:80', '/api/x')?.id, 'other');
});

test('an unknown host matches nothing, never the first route', () => {
  const table = createRouteTable([route('all', 'app:80')]);
  assert.equal(table.match('evil:80', '/'), undefined);
  assert.equal(table.match('app:8080', '/'), undefined);
});
