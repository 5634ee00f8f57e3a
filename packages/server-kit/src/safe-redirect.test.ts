import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeRedirectTarget } from './safe-redirect.js';

const allowed = new Set(['http://app.localhost:8000']);

test('a redirect to a configured route origin is allowed', () => {
  assert.equal(safeRedirectTarget('http://app.localhost:8000/x?y=1', allowed)?.href, 'http://app.localhost:8000/x?y=1');
});

test('redirects elsewhere are refused: other hosts, schemes, ports, credentials, relative and protocol-relative', () => {
  for (const bad of [
    'https://evil.example/',
    'http://app.localhost:8001/',
    'https://app.localhost:8000/',
    'javascript:alert(1)',
    '//evil.example/',
    '/relative',
    'http://app.localhost:8000@evil.example/',
    'http://user:pw@app.localhost:8000/',
    '',
    undefined,
  ]) {
    assert.equal(safeRedirectTarget(bad, allowed), null, String(bad));
  }
});
