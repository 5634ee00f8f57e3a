import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from './normalize-path.js';

test('bypass spellings of /admin all normalise to /admin', () => {
  for (const p of ['/admin', '//admin', '/./admin', '/x/../admin', '/%61dmin', '/%61%64%6D%69%6E', '/x/%2E%2E/admin', '/../admin']) {
    assert.equal(normalizePath(p), '/admin', p);
  }
});

test('reserved escapes stay escaped (upper-cased), trailing slashes are kept', () => {
  assert.equal(normalizePath('/admin%2f'), '/admin%2F');
  assert.equal(normalizePath('/a/b/'), '/a/b/');
  assert.equal(normalizePath('/a/.'), '/a/');
  assert.equal(normalizePath('/'), '/');
  assert.equal(normalizePath('/admin;x'), '/admin;x');
});

test('paths that are not origin-form, or carry broken escapes, are refused', () => {
  assert.equal(normalizePath('admin'), null);
  assert.equal(normalizePath('/a%zz'), null);
  assert.equal(normalizePath('/a%'), null);
});
