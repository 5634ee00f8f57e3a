import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText, ConfigError } from './index.js';

const VALID = `address: 127.0.0.1:8000
authenticate_service_url: http://authenticate.localhost:8000
idp:
  issuer: https://127.0.0.1:8010
  client_id: vallum
  client_secret: secret
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:8020/base
    allow_any_authenticated_user: true
`;

function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    loadConfigText(text, 'vallum.yaml', { env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.location}: ${i.message}`);
  }
  assert.fail('expected the config to be refused');
}

test('a valid config loads into a frozen typed view with defaults', () => {
  const config = loadConfigText(VALID, 'vallum.yaml', { env: {} });
  assert.equal(config.routes[0]?.host, 'app.localhost:8000');
  assert.equal(config.routes[0]?.from, 'http://app.localhost:8000');
  assert.equal(config.routes[0]?.to[0]?.pathname, '/base');
  assert.equal(config.routes[0]?.passIdentityHeaders, true);
  assert.equal(config.cookieName, '_vallum');
  assert.equal(config.cookieExpireMs, 14 * 3600_000);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.routes[0]));
});

test('a YAML syntax error names file:line:column', () => {
  const [issue] = issuesOf(VALID.replace('client_id: vallum', 'client_id: [vallum'));
  assert.match(issue!, /^vallum\.yaml:\d+:\d+: YAML syntax/);
});

test('an unknown key is reported where it stands, with a did-you-mean', () => {
  const issues = issuesOf(VALID.replace('    allow_any_authenticated_user: true', '    allow_any_authenticated_users: true'));
  assert.ok(
    issues.some((i) => /^vallum\.yaml:12:5: unknown key 'allow_any_authenticated_users' \(did you mean 'allow_any_authenticated_user'\?\)/.test(i)),
    issues.join('\n'),
  );
});

test('every problem is reported at once, each with its line', () => {
  const text = VALID.replace(`shared_secret: ${'a'.repeat(32)}`, 'shared_secret: short').replace('to: http://127.0.0.1:8020/base', 'to: 42');
  const issues = issuesOf(text);
  assert.ok(
    issues.some((i) => i.startsWith('vallum.yaml:7:')),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.startsWith('vallum.yaml:11:')),
    issues.join('\n'),
  );
});

test('a route without an access rule, or a from URL with a path, is refused', () => {
  const issues = issuesOf(
    VALID.replace('    allow_any_authenticated_user: true\n', '').replace('from: http://app.localhost:8000', 'from: http://app.localhost:8000/x'),
  );
  assert.ok(
    issues.some((i) => /without a path/.test(i)),
    issues.join('\n'),
  );
});

test('environment variables override the file and are named in errors', () => {
  const config = loadConfigText(VALID, 'vallum.yaml', { env: { VALLUM_ADDRESS: '0.0.0.0:9000', VALLUM_REDIS_URL: 'redis://r:6379' } });
  assert.equal(config.address, '0.0.0.0:9000');
  assert.equal(config.redisUrl, 'redis://r:6379');
  assert.deepEqual(config.redis, { kind: 'standalone', url: 'redis://r:6379' });
  const wrong = issuesOf(VALID, { VALLUM_REDIS_URL: 'redis+sentinel://:hunter2@s1:26379' });
  assert.ok(
    wrong.some((i) => /^environment variable VALLUM_REDIS_URL: cache\.redis_url: a redis\+sentinel:\/\/ URL names the master/.test(i)),
    wrong.join('\n'),
  );
  assert.ok(!wrong.join('\n').includes('hunter2'), 'the password is not echoed');
  const issues = issuesOf(VALID, { VALLUM_COOKIE_SECRET: 'short' });
  assert.ok(
    issues.some((i) => i.startsWith('environment variable VALLUM_COOKIE_SECRET')),
    issues.join('\n'),
  );
});

test('identity settings load with defaults, and a claim header may not replace a header Vallum or HTTP sets', () => {
  const config = loadConfigText(`${VALID}session_idle_timeout: 30m\njwt_claims_headers:\n  X-Email: email\n`, 'vallum.yaml', { env: {} });
  assert.equal(config.sessionIdleTimeoutMs, 30 * 60_000);
  assert.equal(config.tokenRefreshIntervalMs, 30_000);
  assert.equal(config.identityHeadersMaxBytes, 8192);
  assert.deepEqual(config.jwtClaimsHeaders, { 'X-Email': 'email' });
  const issues = issuesOf(`${VALID}jwt_claims_headers:\n  X-Email: email\n  X-Forwarded-User: email\n`);
  assert.ok(
    issues.some((i) => /^vallum\.yaml:15:3: 'X-Forwarded-User' cannot carry a claim/.test(i)),
    issues.join('\n'),
  );
});

test('upstream_dns_ttl is set once for all routes (default 30s), and 0 is refused', () => {
  assert.equal(loadConfigText(VALID, 'vallum.yaml', { env: {} }).routes[0]?.upstreamDnsTtlMs, 30_000);
  assert.equal(loadConfigText(`${VALID}upstream_dns_ttl: 5s\n`, 'vallum.yaml', { env: {} }).routes[0]?.upstreamDnsTtlMs, 5_000);
  const issues = issuesOf(`${VALID}upstream_dns_ttl: 0s\n`);
  assert.ok(
    issues.some((i) => /^vallum\.yaml:13:19: must be longer than 0/.test(i)),
    issues.join('\n'),
  );
});

test('shutdown_grace (default 30s) and drain_delay (default 0s) take Go-style durations', () => {
  const defaults = loadConfigText(VALID, 'vallum.yaml', { env: {} });
  assert.deepEqual([defaults.shutdownGraceMs, defaults.drainDelayMs], [30_000, 0]);
  const set = loadConfigText(`drain_delay: 5s\nshutdown_grace: 1m30s\n${VALID}`, 'vallum.yaml', { env: {} });
  assert.deepEqual([set.shutdownGraceMs, set.drainDelayMs], [90_000, 5_000]);
  const issues = issuesOf(`shutdown_grace: 30\n${VALID}`);
  assert.ok(
    issues.some((i) => /^vallum\.yaml:1:17: shutdown_grace: expected string .*e\.g\. 90s/.test(i)),
    issues.join('\n'),
  );
});
