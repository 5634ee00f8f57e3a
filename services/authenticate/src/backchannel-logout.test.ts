import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLogoutClaims } from './backchannel-logout.js';

const events = { 'http://schemas.openid.net/event/backchannel-logout': {} };
const jti = 'logout-1';

test('a logout token names a subject, an IdP session, or both', () => {
  checkLogoutClaims({ jti, events, sub: 'alice' });
  checkLogoutClaims({ jti, events, sid: 'idp-session-1' });
  checkLogoutClaims({ jti, events, sub: 'alice', sid: 'idp-session-1' });
  assert.throws(() => checkLogoutClaims({ jti, events }), /neither sub nor sid/);
});

test('a logout token without the logout event, or with a nonce (an ID token), is refused', () => {
  assert.throws(() => checkLogoutClaims({ jti, sub: 'alice' }), /no back-channel logout event/);
  assert.throws(() => checkLogoutClaims({ jti, events, sub: 'alice', nonce: 'n' }), /no nonce/);
});

test('a logout token whose event is not an object, or whose jti is not a string, is refused', () => {
  assert.throws(() => checkLogoutClaims({ jti, events: { 'http://schemas.openid.net/event/backchannel-logout': 'yes' }, sub: 'alice' }), /logout event/);
  assert.throws(() => checkLogoutClaims({ jti, events: ['http://schemas.openid.net/event/backchannel-logout'], sub: 'alice' }), /logout event/);
  assert.throws(() => checkLogoutClaims({ jti: 7 as unknown as string, events, sub: 'alice' }), /no jti/);
  assert.throws(() => checkLogoutClaims({ jti: '', events, sub: 'alice' }), /no jti/);
});
