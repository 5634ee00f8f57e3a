// The page that sends a kept POST again after sign-in (see preserve-post.ts), as mod_auth_openidc's OIDCPreservePost
// does: a urlencoded form is rebuilt as an HTML form and submitted (a button without JavaScript); a JSON or multipart
// body is sent byte for byte by fetch with its Content-Type, and the answer replaces the page.
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { escapeHtml, renderPage } from '@vallum/server-kit';
import type { KeptPost } from './preserve-post.js';

const URLENCODED = 'application/x-www-form-urlencoded';

export function sendPostReplay(reply: FastifyReply, post: KeptPost, clearCookie: string): FastifyReply {
  const nonce = randomBytes(16).toString('base64');
  const isForm = post.contentType.split(';', 1)[0]!.trim().toLowerCase() === URLENCODED;
  const html = isForm ? formPage(post, nonce) : fetchPage(post, nonce);
  // The fetched answer is written into this document, which keeps this page's policy: that one only forbids framing.
  // No form-action: the app may answer the post with a redirect to another of its hosts.
  const policy = isForm
    ? `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'`
    : "frame-ancestors 'none'";
  return reply
    .status(200)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', policy)
    .header('set-cookie', clearCookie)
    .send(html);
}

const STATUS = '<p id="vallum-replay-status">You are signed in again. Sending the form you submitted before&hellip;</p>';

function formPage(post: KeptPost, nonce: string): string {
  const fields = [...new URLSearchParams(Buffer.from(post.body, 'base64').toString('utf8'))]
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  return renderPage({
    title: 'Sending your form again',
    body: `${STATUS}
<form id="vallum-replay" method="post" action="${escapeHtml(post.url)}" enctype="${URLENCODED}" accept-charset="utf-8">
${fields}
<noscript><button type="submit">Send it again</button></noscript></form>
<script nonce="${nonce}">HTMLFormElement.prototype.submit.call(document.getElementById('vallum-replay'));</script>`,
  });
}

function fetchPage(post: KeptPost, nonce: string): string {
  // In a <script> element: `<` escaped so no value can close it.
  const data = JSON.stringify({ url: post.url, contentType: post.contentType, body: post.body }).replace(/</g, '\\u003c');
  return renderPage({
    title: 'Sending your form again',
    body: `${STATUS}
<script type="application/json" id="vallum-post">${data}</script>
<script nonce="${nonce}">
(async () => {
  const post = JSON.parse(document.getElementById('vallum-post').textContent);
  const body = Uint8Array.from(atob(post.body), (c) => c.charCodeAt(0));
  const res = await fetch(post.url, { method: 'POST', headers: { 'content-type': post.contentType }, body, credentials: 'same-origin' });
  const text = await res.text();
  history.replaceState(null, '', res.url);
  document.open();
  document.write(text);
  document.close();
})().catch(() => {
  document.getElementById('vallum-replay-status').textContent = 'Your form could not be sent again. Please go back and submit it once more.';
});
</script>`,
  });
}
