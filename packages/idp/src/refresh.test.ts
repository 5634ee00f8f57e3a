import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { VallumError, ErrorCodes } from '@vallum/errors';
import { endsSession, isIdpRefusal } from './refresh.js';

const bodyError = (status: number, error: string) => new oidc.ResponseBodyError('refused', { cause: { error }, response: new Response('{}', { status }) });

test('the IdP saying no ends a session; the IdP being down, slow or busy does not', () => {
  assert.equal(isIdpRefusal(bodyError(400, 'invalid_grant')), true);
  assert.equal(isIdpRefusal(bodyError(401, 'invalid_token')), true);
  for (const status of [408, 429, 500, 502, 503]) assert.equal(isIdpRefusal(bodyError(status, 'temporarily_unavailable')), false, `HTTP ${status}`);
  assert.equal(isIdpRefusal(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })), false);
});

test('an identity whose email became unacceptable ends its session', () => {
  assert.equal(endsSession(new VallumError(ErrorCodes.IDENTITY_INVALID, 'two @', { status: 403 })), true);
  assert.equal(endsSession(new VallumError(ErrorCodes.IDP_UNAVAILABLE, 'down', { status: 503 })), false);
});
