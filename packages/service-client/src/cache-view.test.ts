import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Session } from '@vallum/session';
import { cacheView, type CacheApi } from './index.js';

const now = Date.now();
const stored: Session = {
  id: 's1',
  sub: 'u',
  email: 'u@example.com',
  groups: [],
  claims: {},
  idToken: 'it',
  accessToken: 'at',
  refreshToken: 'rt',
  idpSid: 'x',
  createdAt: now,
  expiresAt: now + 60_000,
};

test('the in-process cache handed to the proxy gives sessions without IdP tokens and leaves the store untouched', async () => {
  const full: CacheApi = {
    ping: async () => {},
    getSession: async () => stored,
    findSessions: async () => [stored],
    putSession: async () => {},
    updateSession: async () => true,
    deleteSession: async () => {},
    endSession: async () => {},
    takeEndedIdToken: async () => 'it',
    claimOnce: async () => true,
    putOneTimeValue: async () => {},
    takeOneTimeValue: async () => null,
    touchSession: async () => true,
    subscribe: () => () => {},
    recordApiToken: async () => {},
    listApiTokens: async () => [],
    revokeApiToken: async () => {},
    isApiTokenRevoked: async () => false,
  };
  const view = cacheView(full);
  const seen = JSON.stringify([await view.getSession('s1'), await view.findSessions({ sub: 'u' })]);
  assert.ok(seen.includes('u@example.com') && seen.includes('"idpSid":"x"'));
  assert.doesNotMatch(seen, /Token|"it"|"at"|"rt"/);
  assert.equal(stored.refreshToken, 'rt');
  assert.ok(!('putSession' in view) && !('updateSession' in view), 'the proxy cannot write sessions');
  assert.ok(!('takeEndedIdToken' in view), "the proxy cannot read a signed-out session's ID token");
});
