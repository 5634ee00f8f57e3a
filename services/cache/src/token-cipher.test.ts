import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Session } from '@vallum/session';
import { createTokenCipher } from './token-cipher.js';

const OLD = 'o'.repeat(32);
const NEW = 'n'.repeat(32);
const session: Session = {
  id: 'sid-1',
  sub: 'u',
  email: 'u@example.com',
  groups: [],
  claims: {},
  createdAt: Date.now(),
  expiresAt: Date.now() + 3600_000,
  refreshToken: 'refresh-1',
};

test('tokens sealed with a previous key open while it is listed, are sealed again with the current one, and are refused once it is dropped', () => {
  const stored = createTokenCipher(OLD).seal(session);
  const rotated = createTokenCipher([NEW, OLD]);
  assert.equal(rotated.open(stored)?.refreshToken, 'refresh-1');
  assert.equal(createTokenCipher(NEW).open(stored), null);
  // The next write re-seals under the current key: readable without the previous one.
  const rewritten = rotated.seal(rotated.open(stored)!);
  assert.equal(createTokenCipher(NEW).open(rewritten)?.refreshToken, 'refresh-1');
  assert.equal(createTokenCipher(OLD).open(rewritten), null);
});
