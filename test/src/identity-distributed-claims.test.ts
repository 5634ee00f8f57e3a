// Groups beyond the token (issue 15, point 4), with a real oidc-provider, Redis and Chromium: the IdP sends groups as
// an OIDC distributed claim (`_claim_names` / `_claim_sources` with endpoint + access_token) pointing at a local
// claims endpoint, which answers plain JSON for one user and a JWT signed with the IdP's key for another; a JWT
// signed with any other key fails the sign-in. The policy sees the resolved groups, and the sources' access tokens
// are never kept. With `groups_from_userinfo: true`, groups come from userinfo alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { SignJWT, generateKeyPair } from 'jose';
import type { Browser } from 'playwright-core';
import { DEMO_PASSWORD, DEMO_USERS, signInAtDemoIdp, type DemoUser } from '@vallum/testing';
import { startIdentityStack, hostGet, signInWithBrowser, waitUntil } from './identity-helpers.js';
import type { Stack } from './harness.js';

/** Each user's token at the claims endpoint: a credential of the IdP's, which Vallum must never keep. */
const SOURCE_TOKENS: Record<string, string> = { alice: 'claims-at-alice-0123456789', bob: 'claims-at-bob-0123456789', carol: 'claims-at-carol-0123456789' };
const DAVE: DemoUser = { sub: 'dave', email: 'dave@example.com', name: 'Dave Doe', password: DEMO_PASSWORD, groups: [] };

let claimsServer: Server;
let claimsUrl: string;
let signWithIdpKey: ((claims: Record<string, unknown>) => Promise<string>) | undefined;
let issuer = '';
const claimsRequests: string[] = [];
/** What the claims endpoint answers for alice: changed by the test to show a refresh picks it up. */
let aliceGroups = ['admins', 'engineering'];

before(async () => {
  const { privateKey: foreignKey } = await generateKeyPair('RS256');
  claimsServer = createServer((req, res) => {
    const sub = /^\/groups\/(\w+)$/.exec(req.url ?? '')?.[1] ?? '';
    claimsRequests.push(sub);
    if (req.headers.authorization !== `Bearer ${SOURCE_TOKENS[sub]}`) return void res.writeHead(401).end();
    const answer = async () => {
      if (sub === 'alice') return { type: 'application/json', body: JSON.stringify({ groups: aliceGroups }) };
      const claims = { iss: issuer, sub, groups: ['admins', 'engineering'] };
      if (sub === 'bob') return { type: 'application/jwt', body: await signWithIdpKey!(claims) };
      return { type: 'application/jwt', body: await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'demo-forged' }).sign(foreignKey) };
    };
    answer().then(
      ({ type, body }) => res.writeHead(200, { 'content-type': type }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((r) => claimsServer.listen(0, '127.0.0.1', r));
  claimsUrl = `http://127.0.0.1:${(claimsServer.address() as { port: number }).port}`;
});

after(async () => {
  claimsServer.closeAllConnections();
  await new Promise((r) => claimsServer.close(r));
});

/** Groups as a distributed claim for alice, bob and carol; dave's ID token alone carries groups. */
const distributed = (user: DemoUser, use: string): Record<string, unknown> => {
  if (user.sub === 'dave') return use === 'id_token' ? { groups: ['admins'] } : { groups: undefined };
  return {
    groups: undefined,
    _claim_names: { groups: 'src1' },
    _claim_sources: { src1: { endpoint: `${claimsUrl}/groups/${user.sub}`, access_token: SOURCE_TOKENS[user.sub] } },
  };
};

async function withStack<T>(
  options: { groupsFromUserinfo: boolean },
  run: (stack: Stack, browser: Browser, store: Awaited<ReturnType<typeof startIdentityStack>>['store']) => Promise<T>,
) {
  const env = await startIdentityStack({
    mode: 'all-in-one',
    idp: { users: [...DEMO_USERS, DAVE], extraClaims: options.groupsFromUserinfo ? fromUserinfo : distributed },
    editConfig: (text) =>
      options.groupsFromUserinfo ? text.replace('  allow_insecure_http: true\n', '  allow_insecure_http: true\n  groups_from_userinfo: true\n') : text,
    configExtra: 'token_refresh_interval: 1s\n',
  });
  issuer = env.stack.issuer;
  signWithIdpKey = (claims) => env.stack.idp.signJwt(claims);
  try {
    return await run(env.stack, env.browser, env.store);
  } finally {
    await env.close();
  }
}

/** For groups_from_userinfo: the ID token says admins, userinfo says engineering (bob) or nothing (alice). */
const fromUserinfo = (user: DemoUser, use: string): Record<string, unknown> => {
  if (use === 'id_token') return { groups: ['admins', 'engineering'] };
  return { groups: user.sub === 'bob' ? ['engineering'] : undefined };
};

const groupsHeader = async (stack: Stack, cookie: string, host: string) => {
  const res = await hostGet(stack, host, '/api/whoami', { cookie: `_vallum=${cookie}`, accept: 'application/json' });
  return { status: res.status, groups: res.status === 200 ? (JSON.parse(res.text) as { groups: string }).groups : undefined };
};

test('distributed groups: resolved from a JSON endpoint and from a JWT signed by the IdP, at sign-in and at each refresh; a foreign JWT fails the sign-in; the sources are never kept', async () => {
  await withStack({ groupsFromUserinfo: false }, async (stack, browser, store) => {
    const adminHost = `admin.localhost:${stack.port}`;
    const adminCookies: Record<string, string> = {};
    for (const sub of ['alice', 'bob']) {
      const user = await signInWithBrowser(browser, stack, `${sub}@example.com`, stack.adminUrl);
      adminCookies[sub] = await user.cookie(adminHost);
      const admin = await groupsHeader(stack, adminCookies[sub], adminHost);
      assert.equal(admin.status, 200, `${sub}: the admin route's policy (groups has admins) sees the distributed groups`);
      assert.equal(admin.groups, 'admins,engineering', `${sub}: and so does the app`);
      const [session] = await store.findSessions({ sub });
      assert.deepEqual(session?.groups, ['admins', 'engineering']);
      const kept = JSON.stringify(session?.claims);
      assert.ok(!kept.includes('_claim_sources') && !kept.includes(SOURCE_TOKENS[sub]!), 'the claim sources and their tokens are not kept');
      await user.context.close();
    }
    assert.ok(claimsRequests.includes('alice') && claimsRequests.includes('bob'));
    aliceGroups = ['engineering'];
    await waitUntil(
      'a refresh reads the distributed groups again',
      async () => (await groupsHeader(stack, adminCookies.alice!, adminHost)).status === 403,
      15_000,
      200,
    );
    assert.deepEqual((await store.findSessions({ sub: 'alice' }))[0]?.groups, ['engineering']);

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(stack.appUrl);
    await signInAtDemoIdp(page, 'carol@example.com');
    await page.waitForURL((u) => u.pathname === '/oauth2/callback', { timeout: 15_000 });
    assert.match(await page.content(), /claim sources could not be used: a claims JWT does not verify with the IdP keys/);
    assert.equal((await store.findSessions({ sub: 'carol' })).length, 0, 'no session made with groups missing');
    await context.close();

    const dave = await signInWithBrowser(browser, stack, 'dave@example.com', `http://admin.localhost:${stack.port}/`);
    assert.deepEqual((await store.findSessions({ sub: 'dave' }))[0]?.groups, ['admins'], "without groups_from_userinfo the ID token's groups count");
    await dave.context.close();
  });
});

test('groups_from_userinfo: the groups are userinfo’s alone, never the ID token’s', async () => {
  await withStack({ groupsFromUserinfo: true }, async (stack, browser, store) => {
    const bob = await signInWithBrowser(browser, stack, 'bob@example.com');
    assert.equal((await groupsHeader(stack, await bob.cookie(), `app.localhost:${stack.port}`)).groups, 'engineering');
    assert.deepEqual((await store.findSessions({ sub: 'bob' }))[0]?.groups, ['engineering'], "the ID token's admins is ignored");
    await bob.context.close();

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(stack.appUrl);
    await signInAtDemoIdp(page, 'alice@example.com');
    await page.waitForURL((u) => u.host === `app.localhost:${stack.port}` && !u.pathname.startsWith('/.vallum/callback'), { timeout: 15_000 });
    assert.deepEqual((await store.findSessions({ sub: 'alice' }))[0]?.groups, [], 'userinfo has no groups for alice: none, whatever the ID token says');
    await context.close();
  });
});
