// Which IdP failures are "try again" (503) and which are "the sign-in failed" (400).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { isIdpUnreachable } from './idp-unavailable.js';

/** openid-client's error as its errorHandler makes it (the type leaves `code` out of the constructor's options). */
const clientError = (message: string, code: string, cause?: unknown) => new oidc.ClientError(message, { cause, code } as ErrorOptions);

const answered = (status: number, error: string) =>
  new oidc.ResponseBodyError('server responded with an error in the response body', { cause: { error }, response: new Response('', { status }) });

test('no connection, no answer in time, or a server in trouble is unreachable', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  assert.equal(isIdpUnreachable(new TypeError('fetch failed', { cause: refused })), true);
  assert.equal(isIdpUnreachable(clientError('operation timed out', 'OAUTH_TIMEOUT')), true);
  assert.equal(isIdpUnreachable(answered(503, 'temporarily_unavailable')), true);
  assert.equal(isIdpUnreachable(answered(429, 'slow_down')), true);
  const gatewayPage = clientError('unexpected HTTP response status code', 'OAUTH_RESPONSE_IS_NOT_CONFORM', new Response('<html>', { status: 502 }));
  assert.equal(isIdpUnreachable(gatewayPage), true);
});

test('a refusal or a response that does not verify is not', () => {
  assert.equal(isIdpUnreachable(answered(400, 'invalid_grant')), false);
  assert.equal(isIdpUnreachable(clientError('unexpected JWT claim value encountered', 'OAUTH_JWT_CLAIM_COMPARISON_FAILED')), false);
  const notFound = clientError('unexpected HTTP response status code', 'OAUTH_RESPONSE_IS_NOT_CONFORM', new Response('', { status: 404 }));
  assert.equal(isIdpUnreachable(notFound), false);
  assert.equal(isIdpUnreachable(new TypeError('"currentUrl" must be an instance of URL')), false);
});
