import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { buildConfig, type RawConfig } from './index.js';

const RAW = parse(`authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "http://127.0.0.1:8010", client_id: vallum, client_secret_file: /nonexistent/vallum/client-secret, allow_insecure_http: true }
shared_secret_file: /nonexistent/vallum/shared-secret
cookie_secret: ${'b'.repeat(32)}
certificate_file: /nonexistent/vallum/cert.pem
key_file: /nonexistent/vallum/key.pem
routes:
  - from: http://app.localhost:8000
    to: http://127.0.0.1:8020
    allow_any_authenticated_user: true
    tls_custom_ca_file: /nonexistent/vallum/ca.pem
`) as RawConfig;

const context = (contents: Map<string, string | Error>) => ({
  file: 'vallum.yaml',
  locate: (path: ReadonlyArray<string | number>) => `vallum.yaml#${path.join('.')}`,
  files: { contents, policies: { named: [], sources: [], issues: [] } },
});

test('building the config reads no file: secrets, certificates and keys come from what the loader read', () => {
  const contents = new Map<string, string | Error>([
    ['/nonexistent/vallum/client-secret', 'client-secret\n'],
    ['/nonexistent/vallum/shared-secret', `${'s'.repeat(32)}\n`],
    ['/nonexistent/vallum/cert.pem', 'CERT'],
    ['/nonexistent/vallum/key.pem', 'KEY'],
    ['/nonexistent/vallum/ca.pem', 'CA'],
  ]);
  const { config, issues } = buildConfig(RAW, context(contents));
  assert.deepEqual(issues, []);
  assert.equal(config?.idp.clientSecret, 'client-secret');
  assert.equal(config?.sharedSecret, 's'.repeat(32));
  assert.deepEqual(config?.tls, { cert: 'CERT', key: 'KEY' });
  assert.equal(config?.routes[0]?.upstreamTls.ca, 'CA');
});

test('a file the loader could not read is reported where the config names it', () => {
  const contents = new Map<string, string | Error>([
    ['/nonexistent/vallum/client-secret', 'client-secret'],
    ['/nonexistent/vallum/shared-secret', new Error('ENOENT')],
    ['/nonexistent/vallum/cert.pem', 'CERT'],
    ['/nonexistent/vallum/key.pem', new Error('EACCES')],
    ['/nonexistent/vallum/ca.pem', 'CA'],
  ]);
  const { config, issues } = buildConfig(RAW, context(contents));
  assert.equal(config, undefined);
  assert.deepEqual(issues.map((i) => `${i.path.join('.')}: ${i.message}`).sort(), [
    'certificate_file: cannot read the listener certificate: EACCES',
    'shared_secret_file: cannot read /nonexistent/vallum/shared-secret: ENOENT',
  ]);
});

test('upstream_protocol: http1 by default; h2c needs http:// upstreams, h2 https:// ones, and neither takes WebSockets', () => {
  const contents = new Map<string, string | Error>([
    ['/nonexistent/vallum/client-secret', 'client-secret'],
    ['/nonexistent/vallum/shared-secret', 's'.repeat(32)],
    ['/nonexistent/vallum/cert.pem', 'CERT'],
    ['/nonexistent/vallum/key.pem', 'KEY'],
    ['/nonexistent/vallum/ca.pem', 'CA'],
  ]);
  const route = RAW.routes![0]!;
  const withRoutes = (routes: object[]) => buildConfig({ ...RAW, routes } as RawConfig, context(contents));
  assert.equal(withRoutes([route]).config?.routes[0]?.upstreamProtocol, 'http1');
  const ok = withRoutes([
    { ...route, upstream_protocol: 'h2c' },
    { ...route, from: 'http://b.localhost:8000', to: 'https://10.0.0.1', upstream_protocol: 'h2' },
  ]);
  assert.deepEqual(ok.issues, []);
  assert.deepEqual(
    ok.config?.routes.map((r) => r.upstreamProtocol),
    ['h2c', 'h2'],
  );
  const bad = withRoutes([
    { ...route, to: 'https://10.0.0.1', upstream_protocol: 'h2c' },
    { ...route, from: 'http://b.localhost:8000', upstream_protocol: 'h2', allow_websockets: true },
  ]);
  assert.deepEqual(bad.issues.map((i) => `${i.path.join('.')}: ${i.message}`).sort(), [
    'routes.0.upstream_protocol: h2c needs http:// upstreams in to',
    'routes.1.allow_websockets: WebSockets need upstream_protocol http1, not h2',
    'routes.1.upstream_protocol: h2 needs https:// upstreams in to',
  ]);
});
