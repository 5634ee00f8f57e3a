// TLS: an https listener from certificate_file/key_file (its certificate replaced on reload), and https upstreams
// verified against tls_custom_ca_file, with a client certificate for mTLS, or not verified at all with
// tls_skip_verify. Certificates are made at test time with openssl and thrown away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { loadVallumConfig, loadVallumConfigText, startVallum, watchConfigFile, type RunningVallum } from '@vallum/cmd';
import { getFreePort } from '@vallum/testing';
import { publicRoute, startProxy, type TestProxy } from './proxy-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'vallum-tls-'));
const file = (name: string) => join(dir, name);
let mtlsUpstream: Server;
let plainTlsUpstream: Server;
let plainPort: number;
let proxy: TestProxy;
let httpsVallum: RunningVallum;
let agent: Agent;

function openssl(...args: string[]) {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

function issue(name: string, cn: string) {
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    file(`${name}.key`),
    '-out',
    file(`${name}.csr`),
    '-subj',
    `/CN=${cn}`,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    file(`${name}.csr`),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file(`${name}.crt`),
    '-days',
    '1',
    '-extfile',
    file('san.ext'),
  );
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

before(async () => {
  writeFileSync(file('san.ext'), 'subjectAltName=DNS:localhost,DNS:secure.localhost,IP:127.0.0.1\n');
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-subj',
    '/CN=vallum-test-ca',
    '-days',
    '1',
  );
  issue('server', 'localhost');
  issue('client', 'vallum-proxy');
  const tls = { key: readFileSync(file('server.key')), cert: readFileSync(file('server.crt')) };
  mtlsUpstream = createServer({ ...tls, ca: readFileSync(file('ca.crt')), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    res.end(`client=${(req.socket as TLSSocket).getPeerCertificate().subject?.CN}`);
  });
  plainTlsUpstream = createServer(tls, (req, res) => res.end(`tls ok ${req.headers['x-forwarded-proto']}`));
  const mtlsPort = await listen(mtlsUpstream);
  plainPort = await listen(plainTlsUpstream);
  const ca = `tls_custom_ca_file: ${file('ca.crt')}`;
  const client = `tls_client_cert_file: ${file('client.crt')}\ntls_client_key_file: ${file('client.key')}`;
  proxy = await startProxy(
    (port) =>
      publicRoute('mtls.localhost', port, `https://127.0.0.1:${mtlsPort}`, `${ca}\n${client}`) +
      publicRoute('nocert.localhost', port, `https://127.0.0.1:${mtlsPort}`, ca) +
      publicRoute('unknown-ca.localhost', port, `https://127.0.0.1:${plainPort}`) +
      publicRoute('skip.localhost', port, `https://127.0.0.1:${plainPort}`, 'tls_skip_verify: true') +
      publicRoute('named.localhost', port, `https://localhost:${plainPort}`, ca),
  );
  const port = await getFreePort();
  httpsVallum = await startVallum(
    loadVallumConfigText(
      proxy
        .configText(publicRoute('secure.localhost', port, `https://127.0.0.1:${plainPort}`, ca))
        .replace('routes:', `certificate_file: ${file('server.crt')}\nkey_file: ${file('server.key')}\nroutes:`),
      'vallum.yaml',
      { env: {} },
    ),
    { address: `127.0.0.1:${port}`, logger: false },
  );
  agent = new Agent({ connect: { ca: readFileSync(file('ca.crt')), servername: 'localhost' } });
});

after(async () => {
  await proxy?.close();
  await httpsVallum?.close();
  await agent?.close();
  mtlsUpstream?.closeAllConnections();
  plainTlsUpstream?.closeAllConnections();
  await new Promise((r) => mtlsUpstream?.close(r));
  await new Promise((r) => plainTlsUpstream?.close(r));
});

const text = async (host: string) => {
  const res = await proxy.call(host, '/');
  return `${res.statusCode} ${await res.body.text()}`;
};

test('an https upstream is verified against tls_custom_ca_file and gets the client certificate (mTLS)', async () => {
  assert.equal(await text('mtls.localhost'), '200 client=vallum-proxy');
  assert.match(await text('nocert.localhost'), /^502 /, 'without the client certificate the upstream refuses');
});

test('an upstream certificate from an unknown CA is refused unless tls_skip_verify', async () => {
  assert.match(await text('unknown-ca.localhost'), /^502 /);
  assert.equal(await text('skip.localhost'), '200 tls ok http');
});

test('an https upstream named by host name is verified and reached through the DNS re-resolution step', async () => {
  assert.equal(await text('named.localhost'), '200 tls ok http');
});

test('certificate_file/key_file make the listener https, and X-Forwarded-Proto says so', async () => {
  assert.match(httpsVallum.url, /^https:/);
  const res = await request(`${httpsVallum.url}/`, { dispatcher: agent, headers: { host: `secure.localhost:${httpsVallum.port}` } });
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'tls ok https');
});

/** SHA-256 fingerprint of the certificate a new TLS connection to `port` is given. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(file('ca.crt')) }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

const fingerprintOf = (name: string) => new X509Certificate(readFileSync(file(`${name}.crt`))).fingerprint256;

async function eventually(check: () => Promise<boolean>, ms: number): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An https Vallum whose config file names listener.crt/listener.key, reloaded by the file watcher. */
async function startWatchedHttpsVallum(t: { after(fn: () => unknown): void }) {
  const port = await getFreePort();
  const configFile = file(`vallum-${port}.yaml`);
  const withTls = proxy
    .configText(publicRoute('secure.localhost', port, `https://127.0.0.1:${plainPort}`, `tls_custom_ca_file: ${file('ca.crt')}`))
    .replace('routes:', `certificate_file: ${file('listener.crt')}\nkey_file: ${file('listener.key')}\nroutes:`);
  writeFileSync(configFile, withTls);
  const vallum = await startVallum(loadVallumConfig(configFile, { env: {} }), { address: `127.0.0.1:${port}`, logger: false });
  const watcher = watchConfigFile(configFile, { env: {}, intervalMs: 50, onConfig: (c) => vallum.reload(c), onError: () => {} });
  t.after(async () => {
    watcher.close();
    await vallum.close();
  });
  return { vallum, port, withTls };
}

const installListenerCertificate = (name: string) => {
  copyFileSync(file(`${name}.key`), file('listener.key'));
  copyFileSync(file(`${name}.crt`), file('listener.crt'));
};

test('a renewed listener certificate (same files, new content) is served to new connections after the reload, without a restart', async (t) => {
  issue('listener-a', 'localhost');
  issue('listener-b', 'localhost');
  installListenerCertificate('listener-a');
  const { vallum, port } = await startWatchedHttpsVallum(t);
  assert.equal(await servedFingerprint(port), fingerprintOf('listener-a'));

  installListenerCertificate('listener-b');
  await eventually(async () => (await servedFingerprint(port)) === fingerprintOf('listener-b'), 3000);
  const res = await request(`${vallum.url}/`, { dispatcher: agent, headers: { host: `secure.localhost:${port}` } });
  assert.equal(`${res.statusCode} ${await res.body.text()}`, '200 tls ok https', 'the same listener still serves requests');
});

test('a reload keeps the running https listener when the new config turns TLS off or its certificate does not load', async (t) => {
  issue('listener-c', 'localhost');
  issue('listener-d', 'localhost');
  installListenerCertificate('listener-c');
  const { vallum, port, withTls } = await startWatchedHttpsVallum(t);
  const served = fingerprintOf('listener-c');

  const withoutTls = withTls.replace(/^certificate_file: .*\n^key_file: .*\n/m, '');
  const result = await vallum.reload(loadVallumConfigText(withoutTls, 'vallum.yaml', { env: {} }));
  assert.match(result.notApplied.join('\n'), /listener stays https.*until a restart/);
  assert.equal(await servedFingerprint(port), served);

  const mismatched = withTls.replace(`key_file: ${file('listener.key')}`, `key_file: ${file('listener-d.key')}`);
  // Loading refuses it already (so `vallum validate` does), at certificate_file...
  assert.throws(() => loadVallumConfigText(mismatched, 'vallum.yaml', { env: {} }), {
    code: 'VALLUM_CONFIG_INVALID',
    message: /vallum\.yaml:\d+:\d+: certificate_file\/key_file: .*key values mismatch/,
  });
  // ...and the reload checks again, for a config loaded before its files changed.
  const loaded = loadVallumConfigText(withTls, 'vallum.yaml', { env: {} });
  const stale = { ...loaded, tls: { cert: loaded.tls!.cert, key: readFileSync(file('listener-d.key'), 'utf8') } };
  await assert.rejects(vallum.reload(stale), { code: 'VALLUM_CONFIG_INVALID' });
  assert.equal(await servedFingerprint(port), served);
});
