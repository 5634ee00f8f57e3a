import { DEFAULT_PAGES } from '@vallum/pages';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '@vallum/config';
import { isVallumError } from '@vallum/errors';
import { idpChooserPage, idpCookieName, readSignOutState, requestedIdps, signOutState } from './idp-choice.js';

const config = loadConfigText(
  `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "https://idp.example.com", client_id: vallum, client_secret: s }
idps:
  partners: { issuer: "https://partners.example.com", client_id: p, client_secret: s, display_name: "<Partners & co>" }
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
routes:
  - { from: "http://app.localhost:8000", to: "http://127.0.0.1:8020", allow_any_authenticated_user: true }
`,
  'vallum.yaml',
  { env: {} },
);

test('a sign-in names its IdPs in the query; none means the default; an unknown one is refused', () => {
  assert.deepEqual(
    requestedIdps(config, new URLSearchParams('')).map((i) => i.name),
    ['default'],
  );
  assert.deepEqual(
    requestedIdps(config, new URLSearchParams('idp=partners&idp=default&idp=partners')).map((i) => i.name),
    ['partners', 'default'],
  );
  for (const query of ['idp=nobody', 'idp=constructor', 'idp=__proto__']) {
    assert.throws(
      () => requestedIdps(config, new URLSearchParams(query)),
      (err: unknown) => isVallumError(err) && err.code === 'VALLUM_IDP_UNKNOWN' && err.status === 400,
    );
  }
});

test('the chooser page escapes what it shows and links each IdP to the normal sign-in', () => {
  const target = new URL('http://app.localhost:8000/a?b="<x>"');
  const html = idpChooserPage(DEFAULT_PAGES, 'req-1', { base: new URL('http://authenticate.localhost:8000'), target, idps: Object.values(config.idps) });
  assert.match(html, /&lt;Partners &amp; co&gt;/);
  assert.doesNotMatch(html, /<Partners/);
  const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => new URL(m[1]!.replaceAll('&amp;', '&')));
  assert.deepEqual(
    links.map((u) => [u.origin + u.pathname, u.searchParams.get('redirect_uri'), u.searchParams.get('idp')]),
    [
      ['http://authenticate.localhost:8000/.vallum/sign_in', target.href, 'default'],
      ['http://authenticate.localhost:8000/.vallum/sign_in', target.href, 'partners'],
    ],
  );
});

test('each IdP has its own cookie on the authenticate host; the default keeps cookie_name', () => {
  assert.equal(idpCookieName('_vallum', 'default'), '_vallum');
  assert.equal(idpCookieName('_vallum', 'partners'), '_vallum_idp_partners');
});

test('the sign-out state names an IdP other than the default, and only a configured one', () => {
  assert.equal(signOutState('default', 'http://app.localhost:8000/'), 'http://app.localhost:8000/');
  const named = readSignOutState(config, signOutState('partners', 'signed-out'));
  assert.deepEqual([named.idp.name, named.returnTo], ['partners', 'signed-out']);
  const plain = readSignOutState(config, 'http://app.localhost:8000/');
  assert.deepEqual([plain.idp.name, plain.returnTo], ['default', 'http://app.localhost:8000/']);
  assert.equal(readSignOutState(config, 'nobody~x').idp.name, 'default');
});
