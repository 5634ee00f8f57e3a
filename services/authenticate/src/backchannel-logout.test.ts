import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnsecuredJWT } from 'jose';
import type { IdpConfig } from '@vallum/config';
import { checkLogoutClaims, logoutTokenIdp } from './backchannel-logout.js';

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

test('the issuer and audience a logout token names pick the IdP it is verified against', () => {
  const idp = (name: string, issuer: string, clientId: string) => ({ name, issuer, clientId }) as IdpConfig;
  const idps = { default: idp('default', 'https://a.example.com', 'vallum'), partners: idp('partners', 'https://b.example.com/', 'vallum-b') };
  const token = (iss: string, aud: string | string[]) => new UnsecuredJWT({ jti }).setIssuer(iss).setAudience(aud).encode();
  assert.equal(logoutTokenIdp({ idps }, token('https://a.example.com', 'vallum')).name, 'default');
  assert.equal(logoutTokenIdp({ idps }, token('https://b.example.com', ['other', 'vallum-b'])).name, 'partners');
  assert.throws(() => logoutTokenIdp({ idps }, token('https://b.example.com', 'vallum')), /no configured IdP/);
  assert.throws(() => logoutTokenIdp({ idps }, token('https://c.example.com', 'vallum')), /no configured IdP/);
});
