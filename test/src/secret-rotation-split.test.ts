// Split mode: rotating shared_secret and cookie_secret one service at a time, in the three phases of
// docs/operations.md (accept the new secret, switch to it, retire the old one). Each service runs on its own port
// and calls the others over HTTP with service tokens; half-rolled, every pair still talks and a user signs in.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { demoConfigYaml, loadVallumConfigText, startVallum, type RunningVallum } from '@vallum/cmd';
import { deriveKey } from '@vallum/session';
import { getFreePort, launchBrowser, signInAtDemoIdp, startDemoApp, startDemoIdp, startRedis } from '@vallum/testing';

const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
});

type Service = 'cache' | 'authorize' | 'authenticate' | 'proxy';
interface Secrets {
  shared: string;
  cookie: string;
  previous: { shared: string; cookie: string } | undefined;
}

/** A service token as a service holding `secret` makes it (service-token.ts), to ask a callee whether it accepts it. */
const serviceToken = (secret: string, issuer: string, audience: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(`vallum:${issuer}`)
    .setAudience(`vallum:${audience}`)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(deriveKey(secret, 'service-token'));

test('split services rolled one at a time through accept, switch and retire keep talking and keep the session', async () => {
  const [proxyPort, authPort, authorizePort, cachePort] = [await getFreePort(), await getFreePort(), await getFreePort(), await getFreePort()];
  const authenticateUrl = `http://authenticate.localhost:${authPort}`;
  const clientSecret = randomBytes(16).toString('hex');
  const idp = await startDemoIdp({
    clients: [{ client_id: 'vallum-demo', client_secret: clientSecret, redirect_uris: [`${authenticateUrl}/oauth2/callback`] }],
  });
  closers.push(() => idp.close());
  const app = await startDemoApp({ jwksUrl: `http://127.0.0.1:${proxyPort}/.well-known/vallum/jwks.json` });
  closers.push(() => app.close());
  const redis = await startRedis();
  closers.push(() => redis.stop());
  const base = demoConfigYaml({ port: proxyPort, issuer: idp.issuer, appUrl: app.url, clientSecret, authenticateUrl, redisUrl: redis.url })
    .replace(/^shared_secret: .*\n/m, '')
    .replace(/^cookie_secret: .*\n/m, '');
  const configFor = (s: Secrets) =>
    loadVallumConfigText(
      `${base}shared_secret: "${s.shared}"\ncookie_secret: "${s.cookie}"\n` +
        (s.previous ? `previous_shared_secrets: ["${s.previous.shared}"]\nprevious_cookie_secrets: ["${s.previous.cookie}"]\n` : ''),
      'vallum.yaml',
      {
        env: {
          VALLUM_AUTHORIZE_SERVICE_URL: `http://127.0.0.1:${authorizePort}`,
          VALLUM_CACHE_SERVICE_URL: `http://127.0.0.1:${cachePort}`,
        },
      },
    );
  const OLD = { shared: randomBytes(32).toString('base64'), cookie: randomBytes(32).toString('base64') };
  const NEW = { shared: randomBytes(32).toString('base64'), cookie: randomBytes(32).toString('base64') };
  const phases: Record<'before' | 'accept' | 'switch' | 'retire', Secrets> = {
    before: { ...OLD, previous: undefined },
    accept: { ...OLD, previous: NEW },
    switch: { ...NEW, previous: OLD },
    retire: { ...NEW, previous: undefined },
  };

  const ports: Record<Service, number> = { cache: cachePort, authorize: authorizePort, authenticate: authPort, proxy: proxyPort };
  const running = {} as Record<Service, RunningVallum>;
  const secretOf = {} as Record<Service, string>;
  for (const service of ['cache', 'authorize', 'authenticate', 'proxy'] as const) {
    running[service] = await startVallum(configFor(phases.before), { service, address: `127.0.0.1:${ports[service]}`, logger: false });
    closers.push(() => running[service].close());
    secretOf[service] = OLD.shared;
  }

  const browser = await launchBrowser();
  closers.push(() => browser.close());
  const appUrl = `http://app.localhost:${proxyPort}/`;
  const signIn = async (email: string) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(appUrl);
    await signInAtDemoIdp(page, email);
    await page.waitForURL((u) => u.href.startsWith(appUrl), { timeout: 15_000 });
    const cookie = (await context.cookies(appUrl)).find((c) => c.name === '_vallum')?.value;
    assert.ok(cookie, `no _vallum cookie for ${email}`);
    return { context, cookie };
  };
  const whoami = async (cookie: string) => {
    const res = await request(`http://127.0.0.1:${proxyPort}/api/whoami`, { headers: { host: `app.localhost:${proxyPort}`, cookie: `_vallum=${cookie}` } });
    await res.body.dump();
    return res.statusCode;
  };
  /** The status a callee answers a call made with the caller's current shared_secret (401: refused). */
  const call = async (caller: Service, callee: 'cache' | 'authorize', secret = secretOf[caller]) => {
    const authorization = `Bearer ${await serviceToken(secret, caller, callee)}`;
    const res =
      callee === 'cache'
        ? await fetch(`http://127.0.0.1:${cachePort}/v1/sessions/no-such-session`, { headers: { authorization } })
        : await fetch(`http://127.0.0.1:${authorizePort}/v1/evaluate`, {
            method: 'POST',
            headers: { authorization, 'content-type': 'application/json' },
            body: '{}',
          });
    await res.body?.cancel();
    return res.status;
  };
  const everyPairTalks = async (when: string) => {
    for (const caller of ['proxy', 'authenticate'] as const) {
      assert.notEqual(await call(caller, 'cache'), 401, `${when}: cache refused ${caller}`);
    }
    assert.notEqual(await call('proxy', 'authorize'), 401, `${when}: authorize refused proxy`);
  };

  // Before the accept phase, a service that had already switched would be refused: what phase 1 is for.
  assert.equal(await call('proxy', 'cache', NEW.shared), 401);
  assert.equal(await call('proxy', 'authorize', NEW.shared), 401);

  const alice = await signIn('alice@example.com');
  assert.equal(await whoami(alice.cookie), 200);

  for (const phase of ['accept', 'switch'] as const) {
    for (const service of ['cache', 'authenticate', 'authorize', 'proxy'] as const) {
      await running[service].reload(configFor(phases[phase]));
      secretOf[service] = phases[phase].shared;
      await everyPairTalks(`${phase}, ${service} rolled`);
      assert.equal(await whoami(alice.cookie), 200, `${phase}, ${service} rolled: the session made before still works`);
      if (phase === 'switch' && service === 'authenticate') {
        // Half switched: authenticate and cache on the new secret, authorize and proxy still on the old one.
        const bob = await signIn('bob@example.com');
        assert.equal(await whoami(bob.cookie), 200, 'a sign-in across half-rolled services works');
        await bob.context.close();
      }
    }
  }

  for (const service of ['cache', 'authenticate', 'authorize', 'proxy'] as const) await running[service].reload(configFor(phases.retire));
  await everyPairTalks('retired');
  assert.equal(await call('proxy', 'cache', OLD.shared), 401, 'once retired, the old shared_secret is refused');
  assert.equal(await whoami(alice.cookie), 302, 'a cookie only the old cookie_secret opens is sent to sign in');
  await alice.context.close();
});
