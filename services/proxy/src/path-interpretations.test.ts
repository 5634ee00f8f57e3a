import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from './normalize-path.js';
import { isAmbiguousPath, otherPathInterpretations } from './path-interpretations.js';

const readings = (raw: string) => {
  const path = normalizePath(raw);
  assert.ok(path !== null, raw);
  return otherPathInterpretations(path);
};

test('a dot segment behind an encoded slash, a backslash or a ";" is resolved in the other readings', () => {
  for (const raw of [
    '/public/..%2fprivate',
    '/public/..%2Fprivate',
    '/public%2f..%2fprivate',
    '/public/..%5cprivate',
    '/public/..\\private',
    '/public/..;/private',
    '/public/..;x=1/private',
  ]) {
    assert.ok(readings(raw).includes('/private'), raw);
  }
});

test('";params" are dropped from every segment, slashes decoded, and both', () => {
  assert.deepEqual(readings('/admin;jsessionid=1'), ['/admin']);
  assert.deepEqual(readings('/;x/admin'), ['/admin']);
  assert.deepEqual(readings('/a%2Fb'), ['/a/b']);
  assert.deepEqual(readings('/a%3Bx/b'), ['/a/b']);
  // Decoded first, the ";" covers one segment only; dropped first, it swallows the encoded slashes too.
  assert.deepEqual([...readings('/public;x%2F..%2F..%2Fprivate')].sort(), ['/private', '/public']);
});

test('an ordinary path has no other reading and costs no allocation', () => {
  const a = otherPathInterpretations('/app/items/42');
  const b = otherPathInterpretations('/x');
  assert.equal(a.length, 0);
  assert.equal(a, b);
  // `%` that decodes to nothing slash-like gives no other reading either.
  assert.equal(otherPathInterpretations('/a%20b').length, 0);
});

test('the query and a %23 never become a path boundary', () => {
  assert.deepEqual(readings('/private%23/public'), []);
  assert.equal(normalizePath('/private%23/public'), '/private%23/public');
});

test('what reject_ambiguous_paths refuses', () => {
  for (const p of ['/a%2Fb', '/a%2fb', '/a%5Cb', '/a%5cb', '/a\\b', '/a;b', '/a%3Bb']) assert.equal(isAmbiguousPath(p), true, p);
  for (const p of ['/a/b', '/a%20b', '/a%23b']) assert.equal(isAmbiguousPath(p), false, p);
});
