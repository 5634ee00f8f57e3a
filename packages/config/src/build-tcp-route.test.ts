// tcp routes (`from: tcp+https://host:port`, `to: tcp://host:port`): what they accept, and the HTTP-only settings they refuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText, ConfigError } from './index.js';

const BASE = `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "https://idp.example.com", client_id: vallum, client_secret: secret }
shared_secret: ${'a'.repeat(32)}
cookie_secret: ${'b'.repeat(32)}
routes:
`;

function issuesOf(routes: string): string[] {
  try {
    loadConfigText(BASE + routes, 'vallum.yaml', { env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.location}: ${i.message}`);
  }
  assert.fail('expected the config to be refused');
}

test('a tcp route: its authority with the port, the upstream, tcp_idle_timeout (default 10m), and no identity headers', () => {
  const config = loadConfigText(
    `${BASE}  - from: tcp+https://DB.corp.example.com:5432
    to: tcp://db.internal:5432
    tcp_idle_timeout: 30s
    allow_any_authenticated_user: true
  - from: tcp+http://redis.corp.example.com:6379
    to: tcp://10.0.0.7:6379
    policy: { allow: { or: [ { groups: { has: ops } } ] } }
`,
    'vallum.yaml',
    { env: {} },
  );
  const [db, redis] = config.routes;
  assert.equal(db!.tcp, true);
  assert.equal(db!.host, 'db.corp.example.com:5432');
  assert.equal(db!.from, 'tcp+https://db.corp.example.com:5432');
  assert.equal(db!.scheme, 'https');
  assert.equal(db!.to[0]!.hostname, 'db.internal');
  assert.equal(db!.to[0]!.port, '5432');
  assert.equal(db!.tcpIdleTimeoutMs, 30_000);
  assert.equal(db!.passIdentityHeaders, false);
  assert.equal(redis!.scheme, 'http');
  assert.equal(redis!.tcpIdleTimeoutMs, 600_000);
});

test('a tcp route needs a port, tcp:// upstreams with a port, no path, an access rule, and refuses HTTP-only settings', () => {
  assert.deepEqual(
    issuesOf(`  - from: tcp+https://db.corp.example.com
    to: tcp://db.internal:5432
    allow_any_authenticated_user: true
  - from: tcp+https://db.corp.example.com:5432/x
    to: http://db.internal:5432
    allow_any_authenticated_user: true
  - from: tcp+https://db2.corp.example.com:5432
    to: [tcp://db.internal:5432, tcp://db.internal]
    prefix: /x
    allow_websockets: true
    set_request_headers: { X-A: b }
    rate_limit: { requests: 5, per: 1s, key: ip }
    allow_any_authenticated_user: true
  - from: tcp+https://db3.corp.example.com:5432
    to: tcp://db.internal:5432
    allow_public_unauthenticated_access: true
  - from: http://app.localhost:8000
    to: http://127.0.0.1:8020
    tcp_idle_timeout: 5m
    allow_any_authenticated_user: true
`),
    [
      "vallum.yaml:6:11: from: expected tcp+https://host:port (or tcp+http://), port required, no path, got 'tcp+https://db.corp.example.com'",
      "vallum.yaml:9:11: from: expected tcp+https://host:port (or tcp+http://), port required, no path, got 'tcp+https://db.corp.example.com:5432/x'",
      "vallum.yaml:10:9: to: a tcp route goes to tcp://host:port, got 'http://db.internal:5432'",
      "vallum.yaml:13:34: to: a tcp route goes to tcp://host:port, got 'tcp://db.internal'",
      'vallum.yaml:14:13: prefix does not apply to a tcp route (from: tcp+https://db2.corp.example.com:5432)',
      'vallum.yaml:16:26: set_request_headers does not apply to a tcp route (from: tcp+https://db2.corp.example.com:5432)',
      'vallum.yaml:17:17: rate_limit does not apply to a tcp route (from: tcp+https://db2.corp.example.com:5432)',
      'vallum.yaml:15:23: allow_websockets does not apply to a tcp route (from: tcp+https://db2.corp.example.com:5432)',
      'vallum.yaml:21:42: allow_public_unauthenticated_access does not apply to a tcp route (from: tcp+https://db3.corp.example.com:5432)',
      'vallum.yaml:19:5: route has no access rule: set policy or allow_any_authenticated_user',
      'vallum.yaml:24:23: tcp_idle_timeout applies to tcp routes only',
    ],
  );
});
