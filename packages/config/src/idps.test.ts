// Several IdPs: `idps` beside the default `idp`, and the IdPs each route accepts, checked when loading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText, ConfigError, acceptsIdp, idpNamed, sessionIdp } from './index.js';

const BASE = `authenticate_service_url: http://authenticate.localhost:8000
idp:
  issuer: https://idp.example.com
  client_id: vallum
  client_secret: secret
idps:
  partners:
    issuer: https://partners.example.com
    client_id: vallum-partners
    client_secret: partner-secret
    display_name: Partner login
    scopes: [openid, email]
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
  - from: http://partners.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
    idp: partners
  - from: http://both.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
    idp: [partners, default]
`;

function issuesOf(text: string): string[] {
  try {
    loadConfigText(text, 'vallum.yaml', { env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.location}: ${i.message}`);
  }
  assert.fail('expected the config to be refused');
}

test('idps load beside the default idp, and each route knows the IdPs it accepts', () => {
  const config = loadConfigText(BASE, 'vallum.yaml', { env: {} });
  assert.deepEqual(Object.keys(config.idps).sort(), ['default', 'partners']);
  assert.equal(config.idps.default, config.idp);
  assert.equal(config.idp.name, 'default');
  assert.equal(config.idp.displayName, 'idp.example.com');
  const partners = idpNamed(config.idps, 'partners')!;
  assert.deepEqual(
    { ...partners },
    {
      name: 'partners',
      displayName: 'Partner login',
      issuer: 'https://partners.example.com',
      clientId: 'vallum-partners',
      clientSecret: 'partner-secret',
      scopes: ['openid', 'email'],
      allowInsecureHttp: false,
      groupsFromUserinfo: false,
    },
  );
  assert.deepEqual(
    config.routes.map((r) => r.idps),
    [['default'], ['partners'], ['partners', 'default']],
  );
  assert.equal(idpNamed(config.idps, 'constructor'), undefined, "never one of Object's own properties");
});

test('a session belongs to the IdP that made it; one from before IdPs had names to the default', () => {
  const [app, partnersOnly, both] = loadConfigText(BASE, 'vallum.yaml', { env: {} }).routes;
  assert.equal(sessionIdp({}), 'default');
  assert.equal(acceptsIdp(app!, {}), true);
  assert.equal(acceptsIdp(app!, { idp: 'partners' }), false);
  assert.equal(acceptsIdp(partnersOnly!, {}), false);
  assert.equal(acceptsIdp(partnersOnly!, { idp: 'partners' }), true);
  assert.equal(acceptsIdp(both!, { idp: 'default' }), true);
});

test('a route naming an unknown IdP is refused where it names it', () => {
  assert.deepEqual(issuesOf(BASE.replace('idp: partners\n', 'idp: partner\n')), [
    "vallum.yaml:22:10: idp: no IdP named 'partner' (configured: default, partners; name more under idps)",
  ]);
  assert.deepEqual(issuesOf(BASE.replace('idp: [partners, default]', 'idp: [partners, nobody]')), [
    "vallum.yaml:26:21: idp: no IdP named 'nobody' (configured: default, partners; name more under idps)",
  ]);
});

test('idps refuses the name default, a missing secret, a plain-http issuer and a placeholder secret, each at its place', () => {
  assert.deepEqual(
    issuesOf(
      BASE.replace('  partners:\n', '  default:\n')
        .replace(/idp: partners\n/, 'idp: default\n')
        .replace('[partners, default]', '[default]'),
    ),
    ["vallum.yaml:7:3: 'default' is the name of the top-level idp: give this IdP another name"],
  );
  assert.deepEqual(issuesOf(BASE.replace('    client_secret: partner-secret\n', '')), [
    "vallum.yaml:8:5: 'idps.partners.client_secret' (or 'idps.partners.client_secret_file') is required",
  ]);
  assert.deepEqual(issuesOf(BASE.replace('https://partners.example.com', 'http://127.0.0.1:8011')), [
    "vallum.yaml:8:13: idps.partners.issuer 'http://127.0.0.1:8011' is plain http, which the sign-in refuses: use https, or set idps.partners.allow_insecure_http: true (a loopback development IdP only)",
  ]);
  assert.deepEqual(issuesOf(BASE.replace('partner-secret', 'CHANGE-ME')), [
    "vallum.yaml:10:20: idps.partners.client_secret is a placeholder from the example (it contains 'CHANGE-ME'): use the client secret your identity provider issued",
  ]);
});

test('a public route has no IdP to choose', () => {
  assert.deepEqual(
    issuesOf(BASE.replace('    allow_any_authenticated_user: true\n    idp: partners\n', '    allow_public_unauthenticated_access: true\n    idp: partners\n')),
    ['vallum.yaml:22:10: idp: a public route signs nobody in, so it has no IdP to choose'],
  );
});
