// Workload tokens (issue 15, point 3) through a real Vallum process: a Kubernetes-style service-account token whose
// keys are at a configured jwks_url, and a GitHub-Actions-style token whose issuer is found by discovery, each minted
// by a local JWKS server on loopback. Each works only on routes naming its issuer, goes through the route's policy
// like a user, and reaches the app as the identity assertion (never as the token). Every malformed, foreign or
// expired token is refused; a rotated key is picked up; an issuer that hangs gives a bounded 503 and is used again
// once it is back; no token reaches a log line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createPublicKey } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload } from 'jose';
import { startStack, type Stack } from './harness.js';
import { hostGet, waitUntil } from './identity-helpers.js';

type SigningKey = Parameters<SignJWT['sign']>[0];

const K8S_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const DEPLOYER = 'system:serviceaccount:ci:deployer';

/** A token issuer on loopback: its JWKS (and, for discovery, its metadata) and the keys it signs with. */
interface LocalIssuer {
  url: string;
  /** Keys published in the JWKS, by kid. */
  published: Map<string, { jwk: JWK; privateKey: SigningKey; alg: string }>;
  /** While true, requests get no answer at all (an issuer that hangs). */
  hanging: boolean;
  requests: number;
  close(): Promise<void>;
}

async function startIssuer(routes: (issuer: LocalIssuer, req: IncomingMessage, res: ServerResponse) => boolean): Promise<LocalIssuer> {
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    issuer.requests++;
    if (issuer.hanging) return void held.push(res);
    res.setHeader('content-type', 'application/json');
    if (!routes(issuer, req, res)) res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer: LocalIssuer = {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    published: new Map(),
    hanging: false,
    requests: 0,
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  return issuer;
}

const jwksOf = (issuer: LocalIssuer) => JSON.stringify({ keys: [...issuer.published.values()].map((k) => k.jwk) });

async function addKey(issuer: LocalIssuer, kid: string, alg: 'RS256' | 'ES256') {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  issuer.published.set(kid, { jwk, privateKey, alg });
  return { privateKey, alg, kid };
}

const now = () => Math.floor(Date.now() / 1000);

/** Every token minted here, so the last test can look for each in the logs. */
const minted: string[] = [];

async function mint(key: { privateKey: SigningKey; alg: string; kid: string }, claims: JWTPayload) {
  const token = await new SignJWT({ iat: now(), nbf: now() - 5, exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
  minted.push(token);
  return token;
}

let stack: Stack;
let k8s: LocalIssuer;
let github: LocalIssuer;
let k8sKey: { privateKey: SigningKey; alg: string; kid: string };
let githubKey: { privateKey: SigningKey; alg: string; kid: string };

const k8sToken = (claims: JWTPayload = {}, key = k8sKey) =>
  mint(key, {
    iss: K8S_ISSUER,
    aud: ['vallum'],
    sub: DEPLOYER,
    'kubernetes.io': {
      namespace: 'ci',
      serviceaccount: { name: 'deployer', uid: '3f1c0d1e-1111-4222-8333-444455556666' },
      pod: { name: 'deploy-7d9f', uid: 'pod-uid' },
    },
    ...claims,
  });
const githubToken = (claims: JWTPayload = {}, key = githubKey) =>
  mint(key, {
    iss: github.url,
    aud: 'https://github.com/org',
    sub: 'repo:org/repo:ref:refs/heads/main',
    repository: 'org/repo',
    repository_owner: 'org',
    ref: 'refs/heads/main',
    workflow: 'deploy',
    jti: crypto.randomUUID(),
    ...claims,
  });

before(async () => {
  k8s = await startIssuer((issuer, req, res) => req.url === '/openid/v1/jwks' && (res.end(jwksOf(issuer)), true));
  github = await startIssuer((issuer, req, res) => {
    if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer: issuer.url, jwks_uri: `${issuer.url}/.well-known/jwks` }));
    else if (req.url === '/.well-known/jwks') res.end(jwksOf(issuer));
    else return false;
    return true;
  });
  k8sKey = await addKey(k8s, 'k8s-1', 'RS256');
  githubKey = await addKey(github, 'gh-1', 'ES256');
  stack = await startStack({
    mode: 'all-in-one',
    workers: 1,
    logLevel: 'info',
    configExtra: ({ port, appUrl }) => `  - name: deploy
    from: http://deploy.localhost:${port}
    to: ${appUrl}
    allow_jwt_issuers: ['${K8S_ISSUER}', '${github.url}']
    policy:
      allow:
        or:
          - user: '${DEPLOYER}'
          - and:
              - groups: { has: org }
              - claim/repository: org/repo
  - name: cluster
    from: http://cluster.localhost:${port}
    to: ${appUrl}
    allow_jwt_issuers: ['${K8S_ISSUER}']
    allow_any_authenticated_user: true
admin_policy:
  allow:
    or:
      - user: '${DEPLOYER}'
jwt_issuers:
  - issuer: ${K8S_ISSUER}
    audience: vallum
    jwks_url: ${k8s.url}/openid/v1/jwks
    allow_insecure_http: true
  - issuer: '${github.url}'
    audience: [https://github.com/org, sts.example.com]
    groups_claim: repository_owner
    allow_insecure_http: true
`,
  });
});

after(async () => {
  await stack?.close();
  await k8s?.close();
  await github?.close();
});

type WhoAmI = { headers: Record<string, string>; jwt: { status: string; claims?: Record<string, unknown> } };

async function call(host: string, token: string) {
  const res = await hostGet(stack, `${host}.localhost:${stack.port}`, '/api/whoami', { authorization: `Bearer ${token}`, accept: 'application/json' });
  return { ...res, whoami: res.status === 200 ? (JSON.parse(res.text) as WhoAmI) : undefined };
}

test('a Kubernetes service-account token (keys at jwks_url) gets through the policy as its service account', async () => {
  const res = await call('deploy', await k8sToken());
  assert.equal(res.status, 200, res.text);
  const { headers, jwt } = res.whoami!;
  assert.equal(jwt.status, 'verified');
  assert.equal(jwt.claims?.sub, DEPLOYER, 'the identity assertion names the service account');
  assert.equal(headers.authorization, undefined, 'the workload token is for Vallum: the app never sees it');
  assert.ok(!headers['x-vallum-claim-email'], 'a workload issuer vouches for no mailbox');
  const other = await call('deploy', await k8sToken({ sub: 'system:serviceaccount:ci:intruder' }));
  assert.equal(other.status, 403, "another service account is not on the route's policy");
});

test('a GitHub-Actions-style token (issuer found by discovery) carries its groups_claim and claims to the policy', async () => {
  const res = await call('deploy', await githubToken());
  assert.equal(res.status, 200, res.text);
  assert.equal(res.whoami!.jwt.claims?.sub, 'repo:org/repo:ref:refs/heads/main');
  assert.equal(res.whoami!.headers['x-vallum-claim-groups'], 'org', 'groups_claim: repository_owner');
  assert.equal((await call('deploy', await githubToken({ repository: 'org/other' }))).status, 403, 'claim/repository is checked');
  assert.equal((await call('deploy', await githubToken({ aud: 'sts.example.com' }))).status, 200, 'any configured audience');
});

test("a workload token never works on a route that does not allow its issuer, nor on the user's routes", async () => {
  const fromGithub = await githubToken();
  assert.equal((await call('deploy', fromGithub)).status, 200);
  assert.equal((await call('cluster', fromGithub)).status, 401, 'cluster allows the Kubernetes issuer only, even for any authenticated user');
  assert.equal((await call('cluster', await k8sToken())).status, 200);
  for (const host of ['app', 'admin']) {
    const res = await call(host, await k8sToken());
    assert.equal(res.status, 401, `${host} names no jwt issuer`);
    assert.match(String(res.headers['www-authenticate']), /invalid_token/);
  }
  const page = await hostGet(stack, `deploy.localhost:${stack.port}`, '/.vallum/', { authorization: `Bearer ${await k8sToken()}`, accept: 'application/json' });
  assert.notEqual(page.status, 200, "Vallum's own pages are no route: a workload token does not open them");
  const admin = await hostGet(stack, `deploy.localhost:${stack.port}`, '/.vallum/admin/v1/users/alice/sessions', {
    authorization: `Bearer ${await k8sToken()}`,
    accept: 'application/json',
  });
  assert.equal(admin.status, 401, 'the admin API is no route either, even with admin_policy naming the service account');
});

test('wrong audience or issuer, unlisted issuer, alg none or HMAC, expired, not yet valid and unknown keys are refused', async () => {
  const stranger = { ...(await generateKeyPair('RS256')), alg: 'RS256', kid: 'k8s-1' };
  const body = (claims: object) => Buffer.from(JSON.stringify(claims)).toString('base64url');
  const pem = createPublicKey({ key: k8s.published.get('k8s-1')!.jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const claims = { iss: K8S_ISSUER, aud: 'vallum', sub: DEPLOYER, exp: now() + 600 };
  const refused: Record<string, string> = {
    wrongAudience: await k8sToken({ aud: 'kubernetes' }),
    githubAudienceOnK8s: await k8sToken({ aud: 'https://github.com/org' }),
    unlistedIssuer: await k8sToken({ iss: 'https://kubernetes.evil.example' }),
    otherIssuersKey: await mint(githubKey, { ...claims }),
    algNone: `${body({ alg: 'none', typ: 'JWT' })}.${body(claims)}.`,
    hmacWithPublicKey: await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k8s-1' }).sign(new TextEncoder().encode(String(pem))),
    expired: await k8sToken({ exp: now() - 120, iat: now() - 720 }),
    notYetValid: await k8sToken({ nbf: now() + 600 }),
    forgedSameKid: await k8sToken({}, stranger),
    unknownKid: await k8sToken({}, { ...stranger, kid: 'k8s-unknown' }),
    noSubject: await k8sToken({ sub: undefined }),
  };
  for (const [name, token] of Object.entries(refused)) assert.equal((await call('deploy', token)).status, 401, name);
});

test('a rotated key is picked up: a token signed with a newly published key is accepted', async () => {
  const next = await addKey(k8s, 'k8s-2', 'RS256');
  // The key set is fetched again for an unknown kid at most once per cooldown (a few seconds).
  await waitUntil('the new key is used', async () => (await call('deploy', await k8sToken({ jti: crypto.randomUUID() }, next))).status === 200, 20_000, 500);
  k8s.published.delete('k8s-1');
  assert.equal((await call('deploy', await k8sToken({ jti: crypto.randomUUID() }, next))).status, 200);
});

test('an issuer that hangs gives a bounded 503 with Retry-After, verified tokens keep working, and it recovers by itself', async () => {
  const known = await githubToken();
  assert.equal((await call('deploy', known)).status, 200);
  github.hanging = true;
  try {
    // A new key id makes Vallum fetch the keys again, from an issuer that no longer answers.
    const rotated = await addKey(github, 'gh-2', 'ES256');
    await new Promise((r) => setTimeout(r, 5_500)); // past the key set's cooldown
    const started = Date.now();
    const res = await call('deploy', await githubToken({}, rotated));
    assert.equal(res.status, 503, res.text);
    assert.ok(Date.now() - started < 15_000, 'answered within the fetch deadline, not hung');
    assert.match(res.text, /VALLUM_JWT_ISSUER_UNAVAILABLE/);
    assert.ok(Number(res.headers['retry-after']) >= 1);
    assert.equal((await call('deploy', known)).status, 200, 'a token verified before the outage still works');
    github.hanging = false;
    await waitUntil('the issuer is used again', async () => (await call('deploy', await githubToken({}, rotated))).status === 200, 30_000, 500);
  } finally {
    github.hanging = false;
  }
});

test('no workload token appears in any log line: accepted, refused, refused for the route, or met with a 503', async () => {
  const token = await k8sToken({ jti: 'log-check' });
  await call('deploy', token);
  await call('app', token);
  const logs = stack.logs();
  assert.match(logs, /"route":"deploy"/, 'the access lines are there');
  assert.match(logs, /"decision":"unauthorized"/);
  assert.ok(minted.length > 20);
  for (const t of minted) assert.ok(!logs.includes(t.split('.')[2]!), 'a token signature is in the logs');
  assert.ok(!logs.includes(token.split('.')[1]!), 'a token payload is in the logs');
});
