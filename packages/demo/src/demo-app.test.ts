import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { startDemoApp, type DemoApp, type WhoAmI } from './index.js';

async function serveJwks(jwks: unknown): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/vallum/jwks.json`, server };
}

describe('startDemoApp', () => {
  let app: DemoApp;
  let jwksServer: Server;
  let key: CryptoKey;
  let otherKey: CryptoKey;
  let jwksUrl: string;

  before(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = pair.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const jwks = await serveJwks({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] });
    jwksServer = jwks.server;
    jwksUrl = jwks.url;
    app = await startDemoApp({ jwksUrl });
  });
  after(async () => {
    await app.close();
    jwksServer.closeAllConnections();
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  const hostOf = (): string => new URL(app.url).host;
  const sign = (audience: string, signWith: CryptoKey = key): Promise<string> =>
    new SignJWT({ email: 'alice@example.com', groups: ['admins'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('vallum')
      .setSubject('alice')
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signWith);

  async function whoami(assertion?: string, extra: Record<string, string> = {}): Promise<WhoAmI> {
    const res = await fetch(`${app.url}/api/whoami`, {
      headers: {
        'x-vallum-claim-email': 'alice@example.com',
        'x-vallum-claim-groups': 'admins,engineering',
        ...(assertion === undefined ? {} : { 'x-vallum-jwt-assertion': assertion }),
        ...extra,
      },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    return (await res.json()) as WhoAmI;
  }

  it('reports a valid assertion for this host as verified, with its claims and the headers received', async () => {
    const body = await whoami(await sign(hostOf()));
    assert.equal(body.jwt.status, 'verified');
    assert.equal(body.jwt.claims?.aud, hostOf());
    assert.equal(body.jwt.claims?.['email'], 'alice@example.com');
    assert.equal(body.email, 'alice@example.com');
    assert.equal(body.groups, 'admins,engineering');
    assert.equal(body.headers['x-vallum-claim-email'], 'alice@example.com');
    assert.equal(body.headers.host, hostOf());
  });

  it('reports a tampered assertion as invalid', async () => {
    const [header, payload, signature] = (await sign(hostOf())).split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), email: 'mallory@example.com' })).toString(
      'base64url',
    );
    const body = await whoami(`${header}.${forged}.${signature}`);
    assert.match(body.jwt.status, /^invalid: ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
    assert.equal(body.jwt.claims, null);
  });

  it('reports an assertion signed by another key as invalid', async () => {
    const body = await whoami(await sign(hostOf(), otherKey));
    assert.match(body.jwt.status, /^invalid: ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  });

  it('reports an assertion for another audience as invalid', async () => {
    const body = await whoami(await sign('other.example.com'));
    assert.match(body.jwt.status, /^invalid: ERR_JWT_CLAIM_VALIDATION_FAILED/);
    assert.match(body.jwt.status, /aud/);
  });

  it('reports a request without an assertion as missing', async () => {
    const res = await fetch(`${app.url}/api/whoami`);
    const body = (await res.json()) as WhoAmI;
    assert.deepEqual({ status: body.jwt.status, email: body.email, groups: body.groups }, { status: 'missing', email: null, groups: null });
  });

  it('renders the identity as escaped HTML with a sign-out link', async () => {
    const res = await fetch(`${app.url}/some/path?x=<b>`, {
      headers: {
        'x-vallum-claim-email': '<script>alert(1)</script>@example.com',
        'x-vallum-claim-groups': 'admins',
        'x-vallum-jwt-assertion': await sign(hostOf()),
      },
    });
    const html = await res.text();
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(html, /<title>Vallum demo app<\/title>/);
    assert.match(html, /id="email">&lt;script&gt;alert\(1\)&lt;\/script&gt;@example.com</);
    assert.ok(!html.includes('<script>'));
    assert.match(html, /id="groups">admins</);
    assert.match(html, /id="jwt-status">verified</);
    assert.match(html, /id="jwt-claims">[^<]*&quot;sub&quot;: &quot;alice&quot;/);
    assert.match(html, /id="method">GET</);
    assert.match(html, /id="path">\/some\/path\?x=%3Cb%3E</);
    // fetch percent-encodes the path; a raw client can send `<` and `"`, which must come back escaped.
    const raw = await new Promise<string>((resolve, reject) => {
      get({ host: '127.0.0.1', port: app.port, path: '/p?q=<i>"' }, (response) => {
        let text = '';
        response
          .setEncoding('utf8')
          .on('data', (chunk: string) => {
            text += chunk;
          })
          .on('end', () => resolve(text));
      }).on('error', reject);
    });
    assert.match(raw, /id="path">\/p\?q=&lt;i&gt;&quot;</);
    assert.match(html, /<a id="sign-out" href="\/\.vallum\/sign_out">Sign out<\/a>/);
  });

  it('checks a configured audience instead of the Host header', async () => {
    const fixed = await startDemoApp({ jwksUrl, audience: 'app.example.com' });
    try {
      const ask = async (assertion: string): Promise<string> => {
        const res = await fetch(`${fixed.url}/api/whoami`, { headers: { 'x-vallum-jwt-assertion': assertion } });
        return ((await res.json()) as WhoAmI).jwt.status;
      };
      assert.equal(await ask(await sign('app.example.com')), 'verified');
      assert.match(await ask(await sign(new URL(fixed.url).host)), /^invalid: ERR_JWT_CLAIM_VALIDATION_FAILED/);
    } finally {
      await fixed.close();
    }
  });
});
