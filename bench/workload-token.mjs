#!/usr/bin/env node
// Workload tokens (jwt_issuers): µs per bearer identification, a token seen before (memo, then the synchronous peek
// the request path tries first) against a token seen for the first time (signature verified against a JWKS fetched
// once from a local issuer), measured in the same run. Run: npx tsc -b && node bench/workload-token.mjs
import { createServer } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createBearerAuth } from '../services/proxy/dist/bearer.js';

const N = 2_000;
const { privateKey, publicKey } = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
const server = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const issuer = 'https://kubernetes.default.svc.cluster.local';
const auth = createBearerAuth({
  config: {
    idp: { issuer: 'https://idp.example.com', clientId: 'vallum', allowInsecureHttp: false },
    sharedSecret: 'x'.repeat(32),
    serviceAccountMaxLifetimeMs: 86_400_000,
    jwtIssuers: [
      {
        issuer,
        audiences: ['vallum'],
        jwksUrl: `http://127.0.0.1:${server.address().port}/`,
        subjectClaim: 'sub',
        groupsClaim: 'groups',
        allowInsecureHttp: true,
      },
    ],
    routes: [{ id: 'deploy', allowJwtIssuers: [issuer] }],
  },
  sessions: { onChange() {}, fromSid: async () => null },
  cache: { isApiTokenRevoked: async () => false },
});
const mint = (i) =>
  new SignJWT({ 'kubernetes.io': { namespace: 'ci', serviceaccount: { name: `sa-${i}` } } })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(issuer)
    .setAudience('vallum')
    .setSubject(`system:serviceaccount:ci:sa-${i}`)
    .setExpirationTime('10m')
    .sign(privateKey);
const tokens = await Promise.all(Array.from({ length: N }, (_, i) => mint(i)));
await auth.identify(await mint(-1), 'deploy'); // the key set is fetched once, outside the timings

let t = process.hrtime.bigint();
for (const token of tokens) if (!(await auth.identify(token, 'deploy'))) throw new Error('refused');
const cold = Number(process.hrtime.bigint() - t) / 1000 / N;
const rounds = 50;
t = process.hrtime.bigint();
for (let r = 0; r < rounds; r++) for (const token of tokens) await auth.identify(token, 'deploy');
const warm = Number(process.hrtime.bigint() - t) / 1000 / (N * rounds);
t = process.hrtime.bigint();
for (let r = 0; r < rounds; r++) for (const token of tokens) auth.peek(token, 'deploy');
const peek = Number(process.hrtime.bigint() - t) / 1000 / (N * rounds);
server.close();
console.log(
  `workload token: first use ${cold.toFixed(1)} µs, again (identify) ${warm.toFixed(2)} µs, again (peek) ${peek.toFixed(2)} µs; ` +
    `first use / peek ${(cold / peek).toFixed(0)}×`,
);
