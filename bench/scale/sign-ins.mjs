#!/usr/bin/env node
// Sign-ins per second through the whole flow, against a real OpenID Connect provider (oidc-provider, the demo IdP)
// on loopback: the application's redirect to Vallum's sign-in, the IdP's authorize endpoint and login form (a
// scripted login; consent is granted by the IdP), the code back to Vallum's callback (token exchange, ID token
// verification, session write), the handoff that sets the session cookie on the application's host, and the first
// proxied request. Vallum (all-in-one, memory store), the IdP, the demo app and the clients share this process, so
// one CPU profile covers them all: where the time goes is read from it, by the component on each sample's stack, and
// from the wall time of each step of the flow.
// Run: npx tsc -b && node bench/scale/sign-ins.mjs [--sign-ins 300] [--concurrency 8] [--quick]
import { randomBytes } from 'node:crypto';
import { Session } from 'node:inspector/promises';
import { request } from 'undici';
import { startVallum, loadVallumConfigText } from '@vallum/cmd';
import { DEMO_PASSWORD, getFreePort, startDemoApp, startDemoIdp } from '@vallum/testing';

const arg = (name, fallback) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const quick = process.argv.includes('--quick');
const total = arg('--sign-ins', quick ? 40 : 300);
const concurrency = arg('--concurrency', 8);
/** A target set here: the whole flow, IdP included, on one core of this machine. */
const TARGET_PER_SECOND = 20;

const users = Array.from({ length: 50 }, (_, i) => ({
  sub: `user-${i}`,
  email: `user-${i}@example.com`,
  name: `User ${i}`,
  password: DEMO_PASSWORD,
  groups: ['engineering'],
}));
const port = await getFreePort();
const authenticateUrl = `http://authenticate.localhost:${port}`;
const clientSecret = randomBytes(16).toString('hex');
const idp = await startDemoIdp({
  users,
  clients: [{ client_id: 'vallum-bench', client_secret: clientSecret, redirect_uris: [`${authenticateUrl}/oauth2/callback`] }],
});
const app = await startDemoApp({ jwksUrl: `http://127.0.0.1:${port}/.well-known/vallum/jwks.json` });
const config = loadVallumConfigText(
  `address: 127.0.0.1:${port}
authenticate_service_url: ${authenticateUrl}
idp: { issuer: "${idp.issuer}", client_id: vallum-bench, client_secret: "${clientSecret}", allow_insecure_http: true }
shared_secret: ${randomBytes(32).toString('base64')}
cookie_secret: ${randomBytes(32).toString('base64')}
log_level: warn
limits: { sign_in: { requests: 0, per: 1m } }
routes:
  - from: http://app.localhost:${port}
    to: ${app.url}
    policy: { allow: { or: [ { groups: { has: engineering } } ] } }
`,
  'sign-ins-bench.yaml',
  { env: {} },
);
const vallum = await startVallum(config, { logger: false });

/** Which step of the flow a request is, by where it goes. */
function stepOf(url, n) {
  if (url.origin === idp.issuer) return 'IdP (authorize, login form, login, consent)';
  if (url.host === `authenticate.localhost:${port}`)
    return url.pathname === '/oauth2/callback' ? 'Vallum callback (token exchange, verification, session write)' : 'Vallum sign-in start';
  if (url.pathname === '/.vallum/callback') return 'handoff to the app host (session cookie)';
  return n === 0 ? 'app redirect to sign-in' : 'first proxied request';
}

/** One sign-in of `user` from a fresh browser-like cookie jar; adds each step's wall time to `steps`. */
async function signIn(user, steps) {
  const jar = new Map();
  const cookieFor = (url) => [...(jar.get(url.host) ?? new Map())].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (url, setCookie) => {
    const cookies = jar.get(url.host) ?? new Map();
    for (const line of [setCookie ?? []].flat()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    jar.set(url.host, cookies);
  };
  let url = new URL(`http://app.localhost:${port}/`);
  let method = 'GET';
  let body;
  for (let n = 0; n < 20; n++) {
    const t = performance.now();
    const headers = { host: url.host, cookie: cookieFor(url) };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const target = url.hostname.endsWith('.localhost') ? `http://127.0.0.1:${url.port}${url.pathname}${url.search}` : url.href;
    const res = await request(target, { method, headers, body });
    const text = await res.body.text();
    const step = stepOf(url, n);
    steps.set(step, (steps.get(step) ?? 0) + performance.now() - t);
    keep(url, res.headers['set-cookie']);
    body = undefined;
    method = 'GET';
    if (res.statusCode >= 300 && res.statusCode < 400) {
      url = new URL(res.headers.location, url);
      continue;
    }
    const form = /<form id="login" method="post" action="([^"]+)"/.exec(text);
    if (res.statusCode === 200 && form) {
      url = new URL(form[1].replace(/&amp;/g, '&'), url);
      method = 'POST';
      body = new URLSearchParams({ email: user.email, password: user.password }).toString();
      continue;
    }
    if (res.statusCode === 200 && url.host === `app.localhost:${port}` && text.includes(user.email)) return;
    throw new Error(`sign-in of ${user.email} stopped at ${method} ${url.href}: ${res.statusCode} ${text.slice(0, 200)}`);
  }
  throw new Error('too many redirects');
}

async function run(count) {
  const steps = new Map();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await signIn(users[next++ % users.length], steps);
    }),
  );
  return { seconds: (performance.now() - started) / 1000, steps };
}

await run(Math.min(20, total)); // warm up: discovery, JIT, the IdP's keys
const profiler = new Session();
profiler.connect();
await profiler.post('Profiler.enable');
await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
await profiler.post('Profiler.start');
const cpuStart = process.cpuUsage();
const { seconds, steps } = await run(total);
const cpu = process.cpuUsage(cpuStart);
const { profile } = await profiler.post('Profiler.stop');
profiler.disconnect();
await vallum.close();
await app.close();
await idp.close();

const row = (cells) => console.log(`| ${cells.join(' | ')} |`);
const rate = total / seconds;
const cpuMs = (cpu.user + cpu.system) / 1000;
console.log(`sign-ins through the whole flow against oidc-provider, ${total} sign-ins, ${concurrency} at a time, Vallum + IdP + app + clients in one process:`);
row(['sign-ins/s', 'ms per sign-in (wall, each)', 'CPU ms per sign-in (whole process)', `≥ ${TARGET_PER_SECOND}/s`]);
row(['---', '---', '---', '---']);
row([rate.toFixed(1), ((seconds * 1000 * concurrency) / total).toFixed(1), (cpuMs / total).toFixed(2), rate >= TARGET_PER_SECOND ? 'met' : 'missed']);

console.log('\nwall time per sign-in by step (each step waits for what it calls: the callback includes the IdP token endpoint):');
row(['step', 'ms per sign-in', 'share']);
row(['---', '---', '---']);
const wall = [...steps.values()].reduce((a, b) => a + b, 0);
for (const [step, ms] of [...steps].sort((a, b) => b[1] - a[1])) row([step, (ms / total).toFixed(2), `${((100 * ms) / wall).toFixed(0)} %`]);

// CPU by component: the innermost frame on a sample's stack that belongs to a known part decides; crypto (jose,
// node:crypto) is counted apart, with the component it ran for.
const parts = [
  [/node_modules\/oidc-provider\/|packages\/demo\/|node_modules\/(koa|@koa)/, 'IdP (oidc-provider)'],
  [/node_modules\/(openid-client|oauth4webapi)\//, 'token exchange + ID token verification (openid-client)'],
  [/services\/cache\//, 'session write and reads (cache service)'],
  [/services\/authenticate\//, 'Vallum authenticate (sign-in start, callback, handoff)'],
  [/services\/authorize\/|packages\/policy\//, 'Vallum authorize (policy)'],
  [/services\/proxy\//, 'Vallum proxy'],
  [/packages\/session\//, 'session cookies and tickets'],
  [/bench\/scale\/|node_modules\/undici\//, "undici: the bench clients and the proxy's upstream dispatch"],
  [/node_modules\/fastify|node_modules\/find-my-way|node_modules\/avvio/, 'fastify'],
];
const cryptoFrame = /node_modules\/jose\/|node:internal\/crypto|^(sign|verify|digest|update|final|pbkdf2|generateKey|encrypt|decrypt|randomFill|cipher)/i;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const counts = new Map();
for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const sampleMs = (profile.endTime - profile.startTime) / 1000 / profile.samples.length;
const components = new Map();
for (const [id, c] of counts) {
  const leaf = byId.get(id);
  if (leaf.callFrame.functionName === '(idle)') continue;
  let component = leaf.callFrame.functionName === '(garbage collector)' ? 'garbage collection' : 'other (HTTP, sockets, streams, runtime)';
  let crypto = false;
  for (let n = leaf; n; n = byId.get(parent.get(n.id))) {
    const where = n.callFrame.url || n.callFrame.functionName;
    if (cryptoFrame.test(where)) crypto = true;
    const found = parts.find(([re]) => re.test(n.callFrame.url));
    if (found) {
      component = found[1];
      break;
    }
  }
  // Work resumed after an await has no caller on its stack: WebCrypto jobs (jose's) land here.
  if (crypto && component.startsWith('other')) component = 'crypto whose caller the stack does not show (WebCrypto jobs of jose)';
  const entry = components.get(component) ?? { ms: 0, crypto: 0 };
  entry.ms += c * sampleMs;
  if (crypto) entry.crypto += c * sampleMs;
  components.set(component, entry);
}
// Samples are taken in wall time (on a loaded machine the process also waits for a core): each component's share
// of the samples is applied to the CPU time the process really used.
const busy = [...components.values()].reduce((a, b) => a + b.ms, 0);
const cpuPerSignIn = cpuMs / total;
console.log(`\nCPU per sign-in by component (shares of a CPU profile of the measured run, applied to ${cpuPerSignIn.toFixed(1)} CPU ms per sign-in):`);
row(['component', 'CPU ms per sign-in', 'share', 'of which crypto (jose, node:crypto) ms']);
row(['---', '---', '---', '---']);
for (const [name, { ms, crypto }] of [...components].sort((a, b) => b[1].ms - a[1].ms)) {
  row([name, ((ms / busy) * cpuPerSignIn).toFixed(2), `${((100 * ms) / busy).toFixed(0)} %`, ((crypto / busy) * cpuPerSignIn).toFixed(2)]);
}
