// Client certificates on the https listener (downstream_mtls), through the real proxy with real TLS clients (node
// https, curl): each enforcement mode, the client_certificate criterion's matchers, the fingerprint header sent
// upstream (and client copies of it dropped), a CRL, max_verify_depth, and a reload that changes the CRL and depth.
// The CAs and certificates are made at test time with openssl and thrown away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadVallumConfigText, startVallum, type RunningVallum } from '@vallum/cmd';
import { createApiTokenCodec } from '@vallum/session';
import { getFreePort, startHttpUpstream, type HttpUpstream } from '@vallum/testing';
import { VALLUM_BIN } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'vallum-mtls-'));
const file = (name: string) => join(dir, name);
const SHARED_SECRET = 's'.repeat(32);
const HOSTS = ['open', 'app', 'ws', 'pinned', 'by-email', 'by-dns', 'by-cn', 'by-issuer', 'by-spki', 'need'];

const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' }).toString();

/** A P-256 key and a certificate for `subject`, signed by `ca` (self-signed when absent), with `extensions`. */
function issue(name: string, subject: string, extensions: string, ca?: string) {
  writeFileSync(file(`${name}.ext`), extensions);
  openssl(
    'req',
    '-new',
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
    subject,
  );
  const signer = ca ? ['-CA', file(`${ca}.crt`), '-CAkey', file(`${ca}.key`), '-CAcreateserial'] : ['-signkey', file(`${name}.key`)];
  openssl('x509', '-req', '-in', file(`${name}.csr`), ...signer, '-out', file(`${name}.crt`), '-days', '2', '-extfile', file(`${name}.ext`));
}
const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n';
const CLIENT_EXT = (san: string) => `basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nsubjectAltName=${san}\n`;

/** `ca`'s CRL, listing the certificates of `revoked`, made with openssl's little CA database. */
function crlOf(ca: string, revoked: string[]): Buffer {
  writeFileSync(file(`${ca}.index`), '');
  writeFileSync(file(`${ca}.crlnumber`), '01\n');
  writeFileSync(
    file(`${ca}.cnf`),
    `[ca]\ndefault_ca = d\n[d]\ndatabase = ${file(`${ca}.index`)}\ncrlnumber = ${file(`${ca}.crlnumber`)}\ndefault_md = sha256\ndefault_crl_days = 2\n`,
  );
  const signer = ['-keyfile', file(`${ca}.key`), '-cert', file(`${ca}.crt`)];
  for (const name of revoked) openssl('ca', '-config', file(`${ca}.cnf`), ...signer, '-revoke', file(`${name}.crt`));
  openssl('ca', '-config', file(`${ca}.cnf`), ...signer, '-gencrl', '-out', file(`${ca}.crl`));
  return readFileSync(file(`${ca}.crl`));
}

/** Facts of a certificate as openssl prints them: the criterion must accept these spellings. */
const fingerprintColons = (name: string) =>
  openssl('x509', '-in', file(`${name}.crt`), '-noout', '-fingerprint', '-sha256')
    .trim()
    .split('=')[1]!;
const fingerprintHex = (name: string) => fingerprintColons(name).replaceAll(':', '').toLowerCase();
const issuerDn = (name: string) =>
  openssl('x509', '-in', file(`${name}.crt`), '-noout', '-issuer', '-nameopt', 'RFC2253')
    .trim()
    .replace(/^issuer=/, '');
function spkiHash(name: string): string {
  const pub = execFileSync('openssl', ['x509', '-in', file(`${name}.crt`), '-noout', '-pubkey']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pub });
  return execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
}

let upstream: HttpUpstream;
/** A Vallum per mode; each is https on its own port. */
const running: RunningVallum[] = [];
let token: string;

function configText(port: number, mtls: string, routes: string, top = ''): string {
  return `${top}authenticate_service_url: https://authenticate.localhost:${port}
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: secret, allow_insecure_http: true }
shared_secret: ${SHARED_SECRET}
cookie_secret: ${'c'.repeat(32)}
log_level: silent
certificate_file: ${file('server.crt')}
key_file: ${file('server.key')}
downstream_mtls:
${mtls.replace(/^/gm, '  ')}
routes:
${routes}`;
}
const route = (host: string, port: number, rule: string) =>
  `  - from: https://${host}.localhost:${port}\n    to: ${upstream.url}\n${rule.replace(/^/gm, '    ')}\n`;
const PUBLIC = 'allow_public_unauthenticated_access: true';
const certRule = (matcher: string) => `policy:\n  allow:\n    and:\n      - groups: { has: engineering }\n      - client_certificate: ${matcher}`;

async function start(
  mtls: string,
  routes: (port: number) => string,
  top = '',
): Promise<{ vallum: RunningVallum; port: number; text: (mtls: string) => string }> {
  const port = await getFreePort();
  const text = (m: string) => configText(port, m, routes(port), top);
  const vallum = await startVallum(loadVallumConfigText(text(mtls), 'vallum.yaml', { env: {} }), { address: `127.0.0.1:${port}`, logger: false });
  running.push(vallum);
  return { vallum, port, text };
}

interface Answer {
  status: number;
  body: string;
}

/** One request on a new TLS connection (node https), with `client`'s certificate when given; `agent` may resume a TLS session. */
function get(port: number, host: string, client?: string, headers: Record<string, string> = {}, agent: Agent | false = false, path = '/'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: `${host}.localhost`,
        headers: { host: `${host}.localhost:${port}`, accept: 'application/json', ...headers },
        ca: readFileSync(file('ca.crt')),
        ...(client ? { cert: readFileSync(file(`${client}.chain`)), key: readFileSync(file(`${client}.key`)) } : {}),
        agent,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket upgrade without a client certificate, on a raw TLS connection: what the proxy answers. */
function rawUpgrade(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: `${host}.localhost`, ca: readFileSync(file('ca.crt')) }, () => {
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${host}.localhost:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
    });
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy());
  });
}

/** curl with `--cert`: its exit code, the status and the body. */
async function curl(port: number, host: string, client?: string): Promise<{ code: number; status: string; body: string }> {
  const name = `${host}.localhost`;
  const args = ['-sS', '--max-time', '10', '--cacert', file('ca.crt'), '--resolve', `${name}:${port}:127.0.0.1`, '-w', '\n%{http_code}'];
  if (client) args.push('--cert', file(`${client}.chain`), '--key', file(`${client}.key`));
  args.push('-H', 'accept: application/json', `https://${name}:${port}/`);
  try {
    const { stdout } = await promisify(execFile)('curl', args);
    const cut = stdout.lastIndexOf('\n');
    return { code: 0, status: stdout.slice(cut + 1), body: stdout.slice(0, cut) };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, status: '000', body: e.stderr };
  }
}

before(async () => {
  issue('ca', '/O=Vallum Test/CN=Vallum Test Client CA', CA_EXT);
  issue('server', '/CN=localhost', `subjectAltName=${HOSTS.map((h) => `DNS:${h}.localhost`).join(',')}\n`, 'ca');
  issue('alice', '/O=Vallum Test/CN=alice', CLIENT_EXT('email:alice@example.com,DNS:alice.devices.example.com'), 'ca');
  issue('dave', '/O=Vallum Test/CN=dave', CLIENT_EXT('email:dave@example.com,DNS:dave.devices.example.com'), 'ca');
  issue('bob', '/CN=bob', CLIENT_EXT('email:bob@example.com'), 'ca');
  issue('other-ca', '/CN=Someone Else CA', CA_EXT);
  issue('mallory', '/O=Vallum Test/CN=alice', CLIENT_EXT('email:alice@example.com'), 'other-ca');
  issue('intermediate', '/CN=Vallum Test Intermediate CA', CA_EXT, 'ca');
  issue('carol', '/CN=carol', CLIENT_EXT('email:carol@example.com'), 'intermediate');
  for (const name of ['alice', 'dave', 'bob', 'mallory']) writeFileSync(file(`${name}.chain`), readFileSync(file(`${name}.crt`)));
  writeFileSync(file('carol.chain'), Buffer.concat([readFileSync(file('carol.crt')), readFileSync(file('intermediate.crt'))]));
  // Node checks the CRL of every CA in a chain, so the intermediate publishes one too.
  writeFileSync(file('crls.pem'), Buffer.concat([crlOf('ca', ['bob']), crlOf('intermediate', [])]));
  upstream = await startHttpUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ fingerprint: req.headers['x-vallum-client-cert-fingerprint'] ?? null, custom: req.headers['x-client-fp'] ?? null }));
  });
  token = await createApiTokenCodec(SHARED_SECRET).sign({
    kind: 'service-account',
    name: 'ops',
    groups: ['engineering'],
    issuedAt: Date.now(),
    expiresAt: Date.now() + 3_600_000,
  });
});

after(async () => {
  for (const vallum of running) await vallum.close();
  await upstream?.close();
});

const upstreamSaw = (answer: Answer) => JSON.parse(answer.body) as { fingerprint: string | null; custom: string | null };
const codeOf = (answer: Answer) => (JSON.parse(answer.body) as { code: string }).code;

test('policy_with_default_deny: routes need a verified certificate unless they opt out; its fingerprint goes upstream, a client copy never', async () => {
  const mtls = `ca_file: ${file('ca.crt')}\ncrl_file: ${file('crls.pem')}\nenforcement: policy_with_default_deny`;
  const { port } = await start(
    mtls,
    (p) => route('open', p, `${PUBLIC}\nrequire_client_certificate: false`) + route('app', p, PUBLIC) + route('ws', p, `${PUBLIC}\nallow_websockets: true`),
    'forward_auth: { trusted_proxies: [127.0.0.1/32] }\n',
  );
  const forged = { 'x-vallum-client-cert-fingerprint': 'f'.repeat(64) };

  const alice = await get(port, 'app', 'alice', forged);
  assert.equal(alice.status, 200);
  assert.equal(upstreamSaw(alice).fingerprint, fingerprintHex('alice'), 'the verified certificate, not the client-sent header');

  const none = await get(port, 'app', undefined, forged);
  assert.equal(none.status, 495);
  assert.equal(codeOf(none), 'VALLUM_CLIENT_CERTIFICATE_REQUIRED');
  const page = await get(port, 'app', undefined, { accept: 'text/html' });
  assert.match(page.body, /Client certificate required[\s\S]*requires a client certificate/);

  const open = await get(port, 'open', undefined, forged);
  assert.equal(open.status, 200, 'require_client_certificate: false lets a connection without one in');
  assert.equal(upstreamSaw(open).fingerprint, null, 'and a client-sent fingerprint header never reaches the upstream');

  for (const [client, why] of [
    ['mallory', /not issued by a certificate authority this site trusts/],
    ['bob', /revoked/],
  ] as const) {
    const refused = await get(port, 'app', client);
    assert.equal(refused.status, 495, client);
    assert.equal(codeOf(refused), 'VALLUM_CLIENT_CERTIFICATE_INVALID', client);
    assert.match(refused.body, why, client);
    const onOpen = await get(port, 'open', client, forged);
    assert.equal(onOpen.status, 200, `${client} on the opted-out route`);
    assert.equal(upstreamSaw(onOpen).fingerprint, null, `${client}: an unverified certificate is never named upstream`);
  }

  const upgrade = await rawUpgrade(port, 'ws');
  assert.match(upgrade, /^HTTP\/1\.1 495 /, 'a WebSocket upgrade without a certificate is refused too');
  assert.match(upgrade, /requires a client certificate/);

  // Forward-auth cannot see the certificate the fronting proxy took: such a route fails closed there.
  const verify = (host: string) =>
    get(port, 'open', 'alice', { 'x-forwarded-host': `${host}.localhost:${port}`, 'x-forwarded-uri': '/' }, false, '/.vallum/verify');
  const refusedVerify = await verify('app');
  assert.equal(refusedVerify.status, 403);
  assert.match(refusedVerify.body, /requires a client certificate, which forward-auth cannot see/);
  assert.equal((await verify('open')).status, 200);

  const viaCurl = await curl(port, 'app', 'alice');
  assert.equal(viaCurl.status, '200');
  assert.equal(JSON.parse(viaCurl.body).fingerprint, fingerprintHex('alice'));
  assert.equal((await curl(port, 'app')).status, '495');
  assert.equal((await curl(port, 'app', 'bob')).status, '495', 'curl --cert with the revoked certificate');
});

test('the client_certificate criterion matches fingerprint, spki_hash, san_email, san_dns, subject_cn and issuer', async () => {
  const mtls = `ca_file: ${file('ca.crt')}\nenforcement: policy`;
  const matchers: Record<string, string> = {
    pinned: `{ fingerprint: "${fingerprintColons('alice')}" }`,
    'by-spki': `{ spki_hash: "${spkiHash('alice')}" }`,
    'by-email': '{ san_email: [ALICE@example.com, nobody@example.com] }',
    'by-dns': '{ san_dns: alice.devices.example.com }',
    'by-cn': '{ subject_cn: alice }',
    'by-issuer': `{ issuer: "${issuerDn('alice').replaceAll(',', ', ')}", san_email: alice@example.com }`,
  };
  const { port } = await start(mtls, (p) =>
    Object.entries(matchers)
      .map(([host, m]) => route(host, p, certRule(m)))
      .join(''),
  );
  const bearer = { authorization: `Bearer ${token}` };
  for (const host of Object.keys(matchers)) {
    const alice = await get(port, host, 'alice', bearer);
    assert.equal(alice.status, 200, `${host}: alice's certificate matches`);
    assert.equal(upstreamSaw(alice).fingerprint, fingerprintHex('alice'));
    const dave = await get(port, host, 'dave', bearer);
    assert.equal(dave.status, 403, `${host}: dave's certificate does not`);
    assert.match(dave.body, /client-certificate-unauthorized/);
    assert.doesNotMatch(dave.body, /alice/, `${host}: the refusal never names what is allowed`);
    assert.equal((await get(port, host, undefined, bearer)).status, 403, `${host}: no certificate, no match (enforcement policy)`);
  }
  // A certificate from another CA with alice's name and email is not verified, so it matches nothing.
  assert.equal((await get(port, 'by-cn', 'mallory', bearer)).status, 403);
  assert.equal((await get(port, 'by-email', 'mallory', bearer)).status, 403);
  assert.equal((await curl(port, 'by-email', 'alice')).status, '302', 'curl without a token is sent to sign in');
});

test('reject_connection: the TLS handshake fails without a valid certificate', async () => {
  const mtls = `ca_file: ${file('ca.crt')}\ncrl_file: ${file('crls.pem')}\nenforcement: reject_connection`;
  const { port } = await start(mtls, (p) => route('app', p, PUBLIC));
  assert.equal((await get(port, 'app', 'alice')).status, 200);
  for (const client of [undefined, 'mallory', 'bob']) {
    await assert.rejects(
      get(port, 'app', client),
      (err: NodeJS.ErrnoException) => /ECONNRESET|alert|socket hang up/i.test(`${err.code} ${err.message}`),
      String(client),
    );
    const viaCurl = await curl(port, 'app', client);
    assert.notEqual(viaCurl.code, 0, `curl ${client ?? 'without a certificate'}: ${viaCurl.body}`);
    assert.equal(viaCurl.status, '000');
  }
  assert.equal((await curl(port, 'app', 'alice')).status, '200');
});

test('policy: a certificate is optional; max_verify_depth, the CRL and the fingerprint header name follow a reload', async () => {
  const base = `ca_file: ${file('ca.crt')}\nenforcement: policy\nfingerprint_header: X-Client-Fp`;
  const { vallum, port, text } = await start(base, (p) => route('open', p, PUBLIC) + route('need', p, `${PUBLIC}\nrequire_client_certificate: true`));
  const open = await get(port, 'open', undefined, { 'x-client-fp': 'forged' });
  assert.deepEqual(upstreamSaw(open), { fingerprint: null, custom: null }, 'no certificate is fine, and the client copy of the header is dropped');
  assert.equal(upstreamSaw(await get(port, 'open', 'alice')).custom, fingerprintHex('alice'));
  assert.equal((await get(port, 'need')).status, 495);

  const carol = await get(port, 'need', 'carol');
  assert.equal(carol.status, 495, 'an intermediate CA is one level more than max_verify_depth 1 allows');
  assert.match(carol.body, /more intermediate CAs than allowed/);
  assert.equal((await get(port, 'need', 'bob')).status, 200, 'no CRL yet');

  const result = await vallum.reload(loadVallumConfigText(text(`${base}\nmax_verify_depth: 2\ncrl_file: ${file('crls.pem')}`), 'vallum.yaml', { env: {} }));
  assert.deepEqual(result.notApplied, []);
  // A resumed TLS session would have lost the intermediate, so the listener never resumes one (regression).
  const resuming = new Agent({ keepAlive: false, maxCachedSessions: 10 });
  for (let i = 0; i < 3; i++) {
    const carolAgain = await get(port, 'need', 'carol', {}, resuming);
    assert.equal(carolAgain.status, 200, `max_verify_depth 2 after the reload, connection ${i + 1}: ${carolAgain.body}`);
  }
  resuming.destroy();
  assert.equal((await get(port, 'need', 'bob')).status, 495, 'the CRL applies to new connections after the reload');
  assert.equal((await get(port, 'need', 'alice')).status, 200);

  // The handshake keeps what it did at start, and says so; meanwhile requests are checked as the new mode says.
  const strict = await vallum.reload(
    loadVallumConfigText(text(`${base}\nenforcement: reject_connection`.replace('enforcement: policy\n', '')), 'vallum.yaml', { env: {} }),
  );
  assert.match(
    strict.notApplied.join('\n'),
    /enforcement changed to reject_connection: TLS handshakes keep accepting connections without a valid certificate until a restart/,
  );
  const refused = await get(port, 'open');
  assert.equal(refused.status, 495, 'fail closed: every route requires a certificate under reject_connection');
  assert.equal((await get(port, 'open', 'alice')).status, 200);
});

test('downstream_mtls added by a reload: reported as needing a restart, and routes that require a certificate answer 495 meanwhile', async () => {
  const port = await getFreePort();
  const withMtls = configText(port, `ca_file: ${file('ca.crt')}`, route('app', port, PUBLIC));
  const without = withMtls.replace(/downstream_mtls:\n(?: {2}.*\n)+/, '');
  const vallum = await startVallum(loadVallumConfigText(without, 'vallum.yaml', { env: {} }), { address: `127.0.0.1:${port}`, logger: false });
  running.push(vallum);
  assert.equal((await get(port, 'app', 'alice')).status, 200);
  const result = await vallum.reload(loadVallumConfigText(withMtls, 'vallum.yaml', { env: {} }));
  assert.match(result.notApplied.join('\n'), /downstream_mtls was added: .* from a restart on; until then routes that require one answer 495/);
  assert.equal((await get(port, 'app', 'alice')).status, 495, 'fail closed: the listener did not ask for the certificate');
});

test('split mode: the certificate facts reach the authorize service over HTTP, and its decision follows them', async () => {
  const [proxyPort, authorizePort, cachePort] = [await getFreePort(), await getFreePort(), await getFreePort()];
  const peers = `authorize_service_url: http://127.0.0.1:${authorizePort}\ncache_service_url: http://127.0.0.1:${cachePort}\n`;
  const routes = route('by-cn', proxyPort, certRule('{ subject_cn: alice, issuer: "CN=Vallum Test Client CA, O=Vallum Test" }'));
  const proxyText = peers + configText(proxyPort, `ca_file: ${file('ca.crt')}\nenforcement: policy`, routes);
  // The other services listen on plain http and know nothing of client certificates: only the proxy sees them.
  const backText = proxyText.replace(/certificate_file:.*\nkey_file:.*\ndownstream_mtls:\n(?: {2}.*\n)+/, '');
  assert.doesNotMatch(backText, /downstream_mtls/);
  for (const [service, port, text] of [
    ['cache', cachePort, backText],
    ['authorize', authorizePort, backText],
    ['proxy', proxyPort, proxyText],
  ] as const) {
    running.push(await startVallum(loadVallumConfigText(text, 'vallum.yaml', { env: {} }), { service, address: `127.0.0.1:${port}`, logger: false }));
  }
  const bearer = { authorization: `Bearer ${token}` };
  const alice = await get(proxyPort, 'by-cn', 'alice', bearer);
  assert.equal(alice.status, 200, alice.body);
  assert.equal(upstreamSaw(alice).fingerprint, fingerprintHex('alice'));
  assert.equal((await get(proxyPort, 'by-cn', 'alice', bearer)).status, 200, 'from the decision cache');
  const dave = await get(proxyPort, 'by-cn', 'dave', bearer);
  assert.equal(dave.status, 403, 'a decision made for alice is not reused for dave');
  assert.match(dave.body, /client-certificate-unauthorized/);
  assert.equal((await get(proxyPort, 'by-cn', undefined, bearer)).status, 403);
});

test('vallum policy explain --client-cert, a fixture with request.client_certificate, and diff with users that hold certificates', async () => {
  const mtls = `ca_file: ${file('ca.crt')}\nenforcement: policy`;
  const write = (name: string, fingerprint: string) => {
    writeFileSync(
      file(name),
      configText(8443, mtls, route('pinned', 8443, certRule(`{ fingerprint: "${fingerprint}" }`)).replace('  - from', '  - name: pinned\n    from')),
    );
    return file(name);
  };
  const before = write('before.yaml', fingerprintColons('alice'));
  const after = write('after.yaml', fingerprintHex('dave'));
  const vallum = (...args: string[]) =>
    promisify(execFile)(process.execPath, [VALLUM_BIN, 'policy', ...args]).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: `${err.stdout}${err.stderr}` }),
    );
  const explain = (client: string) =>
    vallum('explain', '--config', before, '--route', 'pinned', '--email', 'ops@example.com', '--groups', 'engineering', '--client-cert', file(`${client}.crt`));
  const allowed = await explain('alice');
  assert.equal(allowed.code, 0, allowed.stdout);
  assert.match(allowed.stdout, /client-certificate-ok/);
  const refused = await explain('dave');
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stdout, /client-certificate-unauthorized: requires an accepted client certificate/);

  writeFileSync(
    file('fixture.yaml'),
    `config: before.yaml
users:
  ops: { email: ops@example.com, groups: [engineering] }
cases:
  - { name: alice's certificate, user: ops, request: { route: pinned, client_certificate: alice.crt }, expect: allow, reasons: [client-certificate-ok] }
  - { name: her fingerprint as facts, user: ops, request: { route: pinned, client_certificate: { fingerprint: "${fingerprintHex('alice')}" } }, expect: allow }
  - { name: dave's certificate, user: ops, request: { route: pinned, client_certificate: dave.crt }, expect: deny }
  - { name: no certificate, user: ops, request: { route: pinned }, expect: deny, reasons: [client-certificate-unauthorized] }
`,
  );
  const fixture = await vallum('test', file('fixture.yaml'));
  assert.equal(fixture.code, 0, fixture.stdout);
  assert.match(fixture.stdout, /4 passed, 0 failed/);

  writeFileSync(
    file('users.yaml'),
    `users:
  alice: { email: alice@example.com, groups: [engineering], client_certificate: alice.crt }
  dave: { email: dave@example.com, groups: [engineering], client_certificate: dave.crt }
  nocert: { email: nocert@example.com, groups: [engineering] }
`,
  );
  const diff = await vallum('diff', before, after, '--users', file('users.yaml'));
  assert.equal(diff.code, 0, diff.stdout);
  assert.match(diff.stdout, /^- alice loses pinned GET \/$/m);
  assert.match(diff.stdout, /^\+ dave gains pinned GET \/$/m);
  assert.doesNotMatch(diff.stdout, /nocert/);
});
