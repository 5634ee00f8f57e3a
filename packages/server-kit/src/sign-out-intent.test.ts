import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCrossSiteRequest } from './sign-out-intent.js';

const trusted = new Set(['https://app.example.com', 'https://auth.example.com']);

test('Sec-Fetch-Site: cross-site is cross-site whatever else the request says', () => {
  assert.equal(isCrossSiteRequest({ 'sec-fetch-site': 'cross-site', origin: 'https://app.example.com' }, trusted), true);
  assert.equal(isCrossSiteRequest({ 'sec-fetch-site': 'cross-site' }, trusted), true);
});

test('same-origin, same-site and typed-in navigations are not cross-site', () => {
  for (const site of ['same-origin', 'same-site', 'none']) assert.equal(isCrossSiteRequest({ 'sec-fetch-site': site }, trusted), false, site);
});

test('an Origin outside the trusted origins, or null, is cross-site even when Fetch Metadata says same-site', () => {
  assert.equal(isCrossSiteRequest({ 'sec-fetch-site': 'same-site', origin: 'https://evil.example.com' }, trusted), true);
  assert.equal(isCrossSiteRequest({ origin: 'null' }, trusted), true);
  assert.equal(isCrossSiteRequest({ origin: 'https://auth.example.com' }, trusted), false);
});

test('without Fetch Metadata or Origin, the Referer decides; without any, the request is not from another site', () => {
  assert.equal(isCrossSiteRequest({ referer: 'https://evil.test/page' }, trusted), true);
  assert.equal(isCrossSiteRequest({ referer: 'not a url' }, trusted), true);
  assert.equal(isCrossSiteRequest({ referer: 'https://app.example.com/x' }, trusted), false);
  assert.equal(isCrossSiteRequest({}, trusted), false);
});
