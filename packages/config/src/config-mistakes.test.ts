// The mistakes `vallum validate` must catch because start, or the first sign-in, would fail on them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText, ConfigError } from './index.js';

const VALID = `address: 127.0.0.1:8000
authenticate_service_url: http://authenticate.localhost:8000
idp:
  issuer: https://idp.example.com
  client_id: vallum
  client_secret: secret
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:8020
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

test('the valid base config loads', () => {
  assert.equal(loadConfigText(VALID, 'vallum.yaml', { env: {} }).routes.length, 1);
});

test('a listen address start could not listen on is refused when loading, from the file or VALLUM_ADDRESS', () => {
  assert.deepEqual(issuesOf(VALID.replace('127.0.0.1:8000\n', '127.0.0.1\n')), [
    "vallum.yaml:1:10: address: expected host:port, :port or [v6]:port, got '127.0.0.1'",
  ]);
  assert.deepEqual(issuesOf(VALID.replace('127.0.0.1:8000\n', '"[::1]:70000"\n')), ["vallum.yaml:1:10: address: port out of range in '[::1]:70000'"]);
  assert.deepEqual(issuesOf(VALID, { VALLUM_ADDRESS: 'localhost' }), [
    "environment variable VALLUM_ADDRESS: address: expected host:port, :port or [v6]:port, got 'localhost'",
  ]);
});

test('metrics_address is checked like address, and may not be the same listener', () => {
  assert.equal(
    loadConfigText(VALID.replace('address: 127.0.0.1:8000\n', 'address: 127.0.0.1:8000\nmetrics_address: 127.0.0.1:9090\n'), 'vallum.yaml', { env: {} })
      .metricsAddress,
    '127.0.0.1:9090',
  );
  assert.deepEqual(issuesOf(VALID.replace('address: 127.0.0.1:8000\n', 'address: 127.0.0.1:8000\nmetrics_address: "[::1]:70000"\n')), [
    "vallum.yaml:2:18: metrics_address: port out of range in '[::1]:70000'",
  ]);
  assert.deepEqual(issuesOf(VALID.replace('address: 127.0.0.1:8000\n', 'address: 127.0.0.1:8000\nmetrics_address: 127.0.0.1:8000\n')), [
    "vallum.yaml:2:18: metrics_address '127.0.0.1:8000' is the same as address (vallum.yaml:1:10): metrics need a listener of their own",
  ]);
  assert.deepEqual(issuesOf(VALID, { VALLUM_METRICS_ADDRESS: 'localhost' }), [
    "environment variable VALLUM_METRICS_ADDRESS: metrics_address: expected host:port, :port or [v6]:port, got 'localhost'",
  ]);
});

test('a route on the authenticate host is refused at its from, naming the line of authenticate_service_url', () => {
  const text = `${VALID}  - from: http://AUTHENTICATE.localhost:8000\n    to: http://127.0.0.1:8020\n    allow_public_unauthenticated_access: true\n`;
  assert.deepEqual(issuesOf(text), [
    "vallum.yaml:13:11: from: 'http://AUTHENTICATE.localhost:8000' is the host of authenticate_service_url (vallum.yaml:2:27); " +
      'the authenticate service answers every request there, so this route would never be reached: give the route or the authenticate service its own host',
  ]);
  // Another port is another host: browsers keep them apart.
  assert.doesNotThrow(() => loadConfigText(text.replace('AUTHENTICATE.localhost:8000', 'authenticate.localhost:8443'), 'vallum.yaml', { env: {} }));
});

test('a plain-http issuer is refused without idp.allow_insecure_http, naming the setting, and loads with it', () => {
  const text = VALID.replace('https://idp.example.com', 'http://127.0.0.1:8010');
  assert.deepEqual(issuesOf(text), [
    "vallum.yaml:4:11: idp.issuer 'http://127.0.0.1:8010' is plain http, which the sign-in refuses: use https, or set idp.allow_insecure_http: true (a loopback development IdP only)",
  ]);
  assert.deepEqual(issuesOf(VALID, { VALLUM_IDP_ISSUER: 'HTTP://idp.example.com' }).length, 1);
  const allowed = loadConfigText(text.replace('  client_id', '  allow_insecure_http: true\n  client_id'), 'vallum.yaml', { env: {} });
  assert.equal(allowed.idp.allowInsecureHttp, true);
});

test("the example's placeholder secrets are refused wherever they come from: the file, the environment, a *_file", () => {
  const text = VALID.replace(`shared_secret: ${'a'.repeat(32)}`, 'shared_secret: CHANGE-ME-use-head-c-32-dev-urandom-base64').replace(
    'client_secret: secret',
    'client_secret: CHANGE-ME',
  );
  assert.deepEqual(issuesOf(text), [
    "vallum.yaml:7:16: shared_secret is a placeholder from the example (it contains 'CHANGE-ME'): generate one with `vallum gen-secret`",
    "vallum.yaml:6:18: idp.client_secret is a placeholder from the example (it contains 'CHANGE-ME'): use the client secret your identity provider issued",
  ]);
  assert.deepEqual(issuesOf(VALID, { VALLUM_COOKIE_SECRET: 'demo-only-cookie-secret-CHANGE-ME-0123456789' }), [
    "environment variable VALLUM_COOKIE_SECRET: cookie_secret is a placeholder from the example (it contains 'CHANGE-ME'): generate one with `vallum gen-secret`",
  ]);
  const secretFile = join(mkdtempSync(join(tmpdir(), 'vallum-secret-')), 'token-key');
  writeFileSync(secretFile, 'change-me-change-me-change-me-change-me\n');
  assert.deepEqual(issuesOf(`${VALID}token_encryption_key_file: ${secretFile}\n`), [
    `vallum.yaml:13:28: token_encryption_key is a placeholder from the example (it contains 'CHANGE-ME'): generate one with \`vallum gen-secret\``,
  ]);
  // docker-compose.yml's local demo says so explicitly.
  assert.doesNotThrow(() => loadConfigText(`allow_placeholder_secrets: true\n${text}`, 'vallum.yaml', { env: {} }));
});

test('a placeholder kept as a previous secret is refused too: it would still open what it signed', () => {
  const text = `${VALID}previous_cookie_secrets: [demo-only-cookie-secret-CHANGE-ME-0123456789]\nprevious_shared_secrets: [${'p'.repeat(32)}]\n`;
  const issues = issuesOf(text);
  assert.equal(issues.length, 1, issues.join('\n'));
  assert.match(issues[0]!, /^vallum\.yaml:\d+:\d+: previous_cookie_secrets is a placeholder from the example \(it contains 'CHANGE-ME'\)/);
});

test('an enum setting lists its allowed values', () => {
  const text = VALID.replace('address: 127.0.0.1:8000\n', 'address: 127.0.0.1:8000\nlog_level: verbose\nservices: proxys\n').replace(
    '    allow_any_authenticated_user: true\n',
    '    allow_any_authenticated_user: true\n    lb_policy: least_requests\n    rate_limit: { requests: 10, per: 1m, key: client }\n',
  );
  assert.deepEqual(issuesOf(text).sort(), [
    'vallum.yaml:15:16: routes.0.lb_policy: expected one of round_robin, least_request, random, ring_hash; got "least_requests"',
    'vallum.yaml:16:47: routes.0.rate_limit.key: expected one of user, ip; got "client"',
    'vallum.yaml:2:12: log_level: expected one of trace, debug, info, warn, error, fatal, silent; got "verbose"',
    'vallum.yaml:3:11: services: expected one of all, proxy, authenticate, authorize, cache; got "proxys"',
  ]);
});

test('durations take Go-style compounds: cookie_expire: 1h30m, timeout: 1m30s', () => {
  const config = loadConfigText(
    VALID.replace('address: 127.0.0.1:8000\n', 'address: 127.0.0.1:8000\ncookie_expire: 1h30m\n').replace(
      '    allow_any_authenticated_user: true\n',
      '    allow_any_authenticated_user: true\n    timeout: 1m30s\n',
    ),
    'vallum.yaml',
    { env: {} },
  );
  assert.equal(config.cookieExpireMs, 90 * 60_000);
  assert.equal(config.routes[0]?.timeoutMs, 90_000);
  assert.match(
    issuesOf(VALID.replace('address: 127.0.0.1:8000\n', 'address: 127.0.0.1:8000\ncookie_expire: 1h 30m\n'))[0]!,
    /^vallum\.yaml:2:16: cookie_expire: /,
  );
});

test('VALLUM_ALLOW_PLACEHOLDER_SECRETS=true (docker-compose.yml without a .env) accepts them; false, as .env.example sets it, does not', () => {
  const env = { VALLUM_SHARED_SECRET: 'demo-only-shared-secret-CHANGE-ME-0123456789' };
  assert.doesNotThrow(() => loadConfigText(VALID, 'vallum.yaml', { env: { ...env, VALLUM_ALLOW_PLACEHOLDER_SECRETS: 'true' } }));
  assert.deepEqual(issuesOf(VALID, { ...env, VALLUM_ALLOW_PLACEHOLDER_SECRETS: 'false' }), [
    "environment variable VALLUM_SHARED_SECRET: shared_secret is a placeholder from the example (it contains 'CHANGE-ME'): generate one with `vallum gen-secret`",
  ]);
  assert.match(
    issuesOf(VALID, { VALLUM_ALLOW_PLACEHOLDER_SECRETS: 'yes' })[0]!,
    /^environment variable VALLUM_ALLOW_PLACEHOLDER_SECRETS: allow_placeholder_secrets: expected boolean/,
  );
});

test('a service run on its own without the URLs of the services it calls is refused when loading, as start would refuse it', () => {
  const on = (service: string) => VALID.replace('address: 127.0.0.1:8000\n', `address: 127.0.0.1:8000\nservices: ${service}\n`);
  assert.deepEqual(issuesOf(on('proxy')), [
    'vallum.yaml:2:11: services: proxy runs on its own and calls the authorize service: set authorize_service_url to its URL',
    'vallum.yaml:2:11: services: proxy runs on its own and calls the cache service: set cache_service_url to its URL',
  ]);
  assert.deepEqual(issuesOf(on('authenticate')), [
    'vallum.yaml:2:11: services: authenticate runs on its own and calls the cache service: set cache_service_url to its URL',
  ]);
  assert.deepEqual(issuesOf(VALID, { VALLUM_SERVICES: 'authenticate' }), [
    'environment variable VALLUM_SERVICES: services: authenticate runs on its own and calls the cache service: set cache_service_url to its URL',
  ]);
  const urls = 'authorize_service_url: http://127.0.0.1:8010\ncache_service_url: http://127.0.0.1:8011\n';
  assert.equal(loadConfigText(on('proxy') + urls, 'vallum.yaml', { env: {} }).services, 'proxy');
  for (const service of ['all', 'authorize', 'cache']) assert.equal(loadConfigText(on(service), 'vallum.yaml', { env: {} }).services, service);
});

test('workers on a service that runs as one process is refused when loading, as start would refuse it', () => {
  const text = VALID.replace('address: 127.0.0.1:8000\n', 'address: 127.0.0.1:8000\nservices: authorize\nworkers: 2\n');
  assert.deepEqual(issuesOf(text), ['vallum.yaml:3:10: workers applies to the all-in-one and proxy services; the authorize service runs as one process']);
  assert.equal(loadConfigText(VALID.replace('address: 127.0.0.1:8000\n', 'address: 127.0.0.1:8000\nworkers: 2\n'), 'vallum.yaml', { env: {} }).workers, 2);
});
