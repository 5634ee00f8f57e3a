// `jwt_issuers` and `allow_jwt_issuers`: what loads, and every mistake reported at its place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText, ConfigError } from './index.js';

const BASE = `authenticate_service_url: http://authenticate.localhost:8000
idp:
  issuer: https://idp.example.com
  client_id: vallum
  client_secret: secret
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
`;

const load = (text: string) => loadConfigText(text, 'vallum.yaml', { env: {} });

function issuesOf(text: string): string[] {
  try {
    load(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.location}: ${i.message}`);
  }
  assert.fail('expected the config to be refused');
}

test('issuers load with their defaults, and a route keeps the ones it names', () => {
  const config = load(`${BASE}jwt_issuers:
  - issuer: https://kubernetes.default.svc.cluster.local
    audience: vallum
    jwks_url: https://10.0.0.1/openid/v1/jwks
  - issuer: https://token.actions.githubusercontent.com
    audience: [https://github.com/org]
    subject_claim: repository
    groups_claim: repository_owner
routes:
  - from: http://deploy.localhost:8000
    to: http://127.0.0.1:8020
    allow_jwt_issuers: [https://token.actions.githubusercontent.com]
    allow_any_authenticated_user: true
`);
  assert.deepEqual(config.jwtIssuers[0], {
    issuer: 'https://kubernetes.default.svc.cluster.local',
    audiences: ['vallum'],
    jwksUrl: 'https://10.0.0.1/openid/v1/jwks',
    subjectClaim: 'sub',
    groupsClaim: 'groups',
    allowInsecureHttp: false,
  });
  assert.equal(config.jwtIssuers[1]?.subjectClaim, 'repository');
  assert.deepEqual(config.routes[0]?.allowJwtIssuers, ['https://token.actions.githubusercontent.com']);
});

test('an unknown or public-route issuer, a duplicate, the IdP itself and plain http without its flag are refused', () => {
  const issues = issuesOf(`${BASE}jwt_issuers:
  - issuer: https://ci.example.com
    audience: vallum
  - issuer: https://ci.example.com
    audience: other
  - issuer: https://idp.example.com
    audience: vallum
  - issuer: http://127.0.0.1:9999
    audience: vallum
  - issuer: https://k8s.example.com
    audience: vallum
    jwks_url: http://10.0.0.1/jwks
  - issuer: kubernetes
    audience: vallum
routes:
  - from: http://deploy.localhost:8000
    to: http://127.0.0.1:8020
    allow_jwt_issuers: [https://nobody.example.com]
    allow_any_authenticated_user: true
  - from: http://public.localhost:8000
    to: http://127.0.0.1:8020
    allow_jwt_issuers: [https://ci.example.com]
    allow_public_unauthenticated_access: true
`);
  const expected = [
    /issuer 'https:\/\/ci\.example\.com' is listed twice/,
    /the IdP's own tokens are accepted already/,
    /issuer 'http:\/\/127\.0\.0\.1:9999' is plain http/,
    /jwks_url 'http:\/\/10\.0\.0\.1\/jwks' is plain http/,
    /'https:\/\/nobody\.example\.com' is not in jwt_issuers \(configured: 'https:\/\/ci\.example\.com'/,
    /a public route takes no credentials/,
    /issuer: expected an http\(s\) URL, got 'kubernetes'/,
  ];
  for (const pattern of expected)
    assert.ok(
      issues.some((i) => pattern.test(i)),
      `${pattern} in ${issues.join('\n')}`,
    );
  assert.equal(issues.length, 7, issues.join('\n'));
});
