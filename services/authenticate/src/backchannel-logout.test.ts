import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLogoutClaims } from './backchannel-logout.js';

const events = { 'http://schemas.openid.net/event/backchannel-logout': {} };

test('a logout token names a subject, an IdP session, or both', () => {
  checkLogoutClaims({ events, sub: 'alice' });
  checkLogoutClaims({ events, sid: 'idp-session-1' });
  checkLogoutClaims({ events, sub: 'alice', sid: 'idp-session-1' });
  assert.throws(() => checkLogoutClaims({ events }), /neither sub nor sid/);
});

test('a logout token without the logout event, or with a nonce (an ID token), is refused', () => {
  assert.throws(() => checkLogoutClaims({ sub: 'alice' }), /no back-channel logout event/);
  assert.throws(() => checkLogoutClaims({ events, sub: 'alice', nonce: 'n' }), /no nonce/);
});
