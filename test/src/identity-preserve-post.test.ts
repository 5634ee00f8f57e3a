// No lost form posts, in Chromium through the real proxy, IdP and Redis: a form submitted after the session ended
// (idle timeout) is kept, sealed, through the sign-in and reaches the app once, intact, afterwards: a urlencoded form
// by an auto-submitting form, a multipart upload byte for byte by fetch. Cross-site and oversized posts are not kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { redisCli, startHttpUpstream, type HttpUpstream } from '@vallum/testing';
import type { Stack } from './harness.js';
import { signInWithBrowser, startIdentityStack, waitUntil } from './identity-helpers.js';

interface Received {
  url: string;
  contentType: string;
  body: Buffer;
}

const IDLE_S = 2;
const FORM = `<!doctype html><html><body>
<form id="f" method="post" action="/submit?draft=1">
  <input name="title" value=""><textarea name="note"></textarea><input name="submit" value="kept">
  <button id="send" type="submit">Send</button>
</form>
<form id="u" method="post" action="/upload" enctype="multipart/form-data">
  <input name="caption"><input type="file" name="file"><button id="upload" type="submit">Upload</button>
</form></body></html>`;

let stack: Stack;
let upstream: HttpUpstream;
let identity: Awaited<ReturnType<typeof startIdentityStack>>;
const received: Received[] = [];

before(async () => {
  upstream = await startHttpUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      if (req.method === 'POST') {
        received.push({ url: req.url ?? '', contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        res.end(`<!doctype html><p id="done">received ${received.length}</p>`);
      } else res.end(FORM);
    });
  });
  identity = await startIdentityStack({
    mode: 'all-in-one',
    configExtra: ({ port }) => `  - name: forms
    from: http://forms.localhost:${port}
    to: ${upstream.url}
    allow_any_authenticated_user: true
session_idle_timeout: ${IDLE_S}s
`,
  });
  stack = identity.stack;
});

after(async () => {
  await identity?.close();
  await upstream?.close();
});

const formsUrl = () => `http://forms.localhost:${stack.port}`;
const posts = (url: string) => received.filter((r) => r.url === url);
const sessionEnded = () => waitUntil('the session idled out', async () => (await identity.store.findSessions({ sub: 'alice' })).length === 0, 15_000, 100);

test('a form posted after the session ended reaches the app once, intact, after sign-in (auto-submitted form)', async () => {
  const alice = await signInWithBrowser(identity.browser, stack, 'alice@example.com', `${formsUrl()}/form`);
  const { page } = alice;
  const title = 'Quarterly report — “draft” & <final> ✓';
  const note = 'line one\r\nline two = 2 + 2 %';
  await page.fill('input[name="title"]', title);
  await page.fill('textarea[name="note"]', note);
  await sessionEnded();
  await page.click('#send');
  await page.waitForSelector('#done', { timeout: 20_000 });
  assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/submit?draft=1');
  await new Promise((r) => setTimeout(r, 500));
  const sent = posts('/submit?draft=1');
  assert.equal(sent.length, 1, 'exactly once');
  assert.match(sent[0]!.contentType, /^application\/x-www-form-urlencoded/);
  assert.deepEqual(
    [...new URLSearchParams(sent[0]!.body.toString('utf8'))],
    [
      ['title', title],
      ['note', note],
      ['submit', 'kept'],
    ],
  );
  const cookies = await alice.context.cookies(formsUrl());
  assert.equal(
    cookies.find((c) => c.name === '_vallum_post'),
    undefined,
    'the slot cookie is gone',
  );
  await alice.context.close();
});

test('a multipart upload posted after the session ended is sent again byte for byte (fetch)', async () => {
  const alice = await signInWithBrowser(identity.browser, stack, 'alice@example.com', `${formsUrl()}/form`);
  const { page } = alice;
  const file = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));
  await page.fill('input[name="caption"]', 'the chart');
  await page.setInputFiles('input[name="file"]', { name: 'chart.bin', mimeType: 'application/octet-stream', buffer: file });
  await sessionEnded();
  await page.click('#upload');
  await page.waitForSelector('#done', { timeout: 20_000 });
  await new Promise((r) => setTimeout(r, 500));
  const sent = posts('/upload');
  assert.equal(sent.length, 1, 'exactly once');
  const boundary = /boundary=(.+)$/.exec(sent[0]!.contentType)?.[1];
  assert.ok(boundary, sent[0]!.contentType);
  const body = sent[0]!.body;
  assert.ok(body.includes(`--${boundary}`), 'the body goes with its own Content-Type');
  assert.ok(body.includes('name="caption"\r\n\r\nthe chart\r\n'));
  assert.ok(
    body.includes(Buffer.concat([Buffer.from('filename="chart.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'), file, Buffer.from('\r\n')])),
    'the file, every byte',
  );
  assert.equal(new URL(page.url()).pathname, '/upload');
  await alice.context.close();
});

test('a post is kept sealed and only when sent by the route’s own pages, within the limit', async () => {
  const post = (headers: Record<string, string>, body: string) =>
    request(`http://127.0.0.1:${stack.port}/submit`, {
      method: 'POST',
      headers: { host: `forms.localhost:${stack.port}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
  const slotOf = (res: Awaited<ReturnType<typeof post>>) => /_vallum_post=([^;]+)/.exec(String(res.headers['set-cookie']))?.[1];

  const kept = await post({ origin: formsUrl(), 'sec-fetch-site': 'same-origin' }, 'secret=tell-no-one');
  assert.equal(kept.statusCode, 302);
  assert.match(String(kept.headers.location), /\/\.vallum\/sign_in\?redirect_uri=/);
  const slot = slotOf(kept);
  assert.ok(slot, 'kept: the browser gets the slot cookie');
  assert.match(String(kept.headers['set-cookie']), /HttpOnly; SameSite=Lax/);
  const stored = await redisCli(Number(new URL(stack.redisUrl!).port), 'GET', `vallum:value:post:${slot}`);
  assert.ok(stored.length > 100, 'the slot holds the sealed post');
  assert.ok(!stored.includes('tell-no-one') && !Buffer.from(stored, 'base64url').toString('latin1').includes('tell-no-one'), 'sealed, not readable in Redis');

  const crossSite = await post({ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, 'a=1');
  assert.equal(crossSite.statusCode, 302);
  assert.equal(slotOf(crossSite), undefined, 'a cross-site post is never kept');
  const noOrigin = await post({}, 'a=1');
  assert.equal(slotOf(noOrigin), undefined, 'nor one that does not say where it came from');
  const large = await post({ origin: formsUrl() }, `a=${'x'.repeat(64 * 1024)}`);
  assert.equal(large.statusCode, 302);
  assert.equal(slotOf(large), undefined, 'over 64 KiB: signs in without it');
  for (const res of [kept, crossSite, noOrigin, large]) await res.body.dump();
});
