import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVallumError } from '@vallum/errors';
import { assertStepUpMet, readStepUp, signInFactsOf, stepUpParams } from './step-up.js';

const now = Date.parse('2027-01-31T09:00:00Z');

test('readStepUp: max_age and acr_values from the sign-in link; malformed ones get a 400, none is a plain sign-in', () => {
  assert.equal(readStepUp({}), undefined);
  const request = readStepUp({ max_age: '900', acr_values: 'urn:a  urn:b' });
  assert.deepEqual(request, { maxAgeSeconds: 900, acrValues: ['urn:a', 'urn:b'] });
  assert.deepEqual(stepUpParams(request), { max_age: '900', acr_values: 'urn:a urn:b' });
  assert.deepEqual(stepUpParams(undefined), {});
  for (const bad of [{ max_age: '-1' }, { max_age: '1e3' }, { acr_values: '   ' }]) {
    assert.throws(
      () => readStepUp(bad),
      (err: unknown) => isVallumError(err) && err.status === 400,
      JSON.stringify(bad),
    );
  }
});

test('signInFactsOf: auth_time in ms (never in the future), else now; acr when the IdP sent one', () => {
  assert.deepEqual(signInFactsOf({ auth_time: now / 1000 - 60, acr: 'urn:a' }, now), { authTime: now - 60_000, acr: 'urn:a' });
  assert.deepEqual(signInFactsOf({ auth_time: now / 1000 + 60 }, now), { authTime: now });
  assert.deepEqual(signInFactsOf({}, now), { authTime: now });
  assert.deepEqual(signInFactsOf(undefined, now), { authTime: now });
});

test('assertStepUpMet: an IdP that ignored max_age or answered with a weaker acr is refused with a page that says why', () => {
  assert.doesNotThrow(() => assertStepUpMet({ maxAgeSeconds: 900, acrValues: ['urn:mfa'] }, { authTime: now - 60_000, acr: 'urn:mfa' }, now));
  assert.doesNotThrow(() => assertStepUpMet({ maxAgeSeconds: 60 }, { authTime: now - 63_000 }, now), 'a few seconds of IdP clock skew');
  assert.throws(
    () => assertStepUpMet({ maxAgeSeconds: 900 }, { authTime: now - 3_600_000 }, now),
    (err: unknown) =>
      isVallumError(err) &&
      err.code === 'VALLUM_STEP_UP_FAILED' &&
      err.status === 403 &&
      err.expose &&
      /within the last 15 minute\(s\).*about 60 minute\(s\) old/.test(err.message),
  );
  assert.throws(
    () => assertStepUpMet({ acrValues: ['urn:mfa', 'urn:hwk'] }, { authTime: now, acr: 'urn:pwd' }, now),
    (err: unknown) => isVallumError(err) && err.status === 403 && /stronger sign-in \(urn:mfa or urn:hwk\).*signed you in with urn:pwd/.test(err.message),
  );
  assert.throws(() => assertStepUpMet({ acrValues: ['urn:mfa'] }, { authTime: now }, now), /with no assurance level/);
});
