import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEmail, isUnacceptableEmail } from './clean-email.js';

test('an email with more than one @ is not an email, and is refused rather than dropped', () => {
  for (const bad of ['a@evil.com@example.com', '@example.com', 'alice@', 'a b@example.com', 'a@x.com,b@example.com', 42, ['a@example.com']]) {
    assert.equal(cleanEmail(bad), '', String(bad));
    assert.equal(isUnacceptableEmail(bad), true, String(bad));
  }
  assert.equal(cleanEmail('Alice@EXAMPLE.com'), 'Alice@EXAMPLE.com');
  for (const absent of [undefined, null, '']) assert.equal(isUnacceptableEmail(absent), false, 'no email is not a bad email');
  assert.equal(isUnacceptableEmail('alice@example.com'), false);
});
