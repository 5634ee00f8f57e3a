// The page that sends a kept POST again after sign-in (see preserve-post.ts), as mod_auth_openidc's OIDCPreservePost
// does: a urlencoded form is rebuilt as an HTML form and submitted (a button without JavaScript); a JSON or multipart
// body is sent byte for byte by fetch with its Content-Type, and the answer replaces the page.
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { PageSet } from '@vallum/pages';
import type { KeptPost } from './preserve-post.js';

const URLENCODED = 'application/x-www-form-urlencoded';

export function sendPostReplay(reply: FastifyReply, pages: PageSet, post: KeptPost, clearCookie: string): FastifyReply {
  const nonce = randomBytes(16).toString('base64');
  const isForm = post.contentType.split(';', 1)[0]!.trim().toLowerCase() === URLENCODED;
  const html = isForm ? formPage(pages, post, nonce) : fetchPage(pages, post, nonce);
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

function formPage(pages: PageSet, post: KeptPost, nonce: string): string {
  const fields = [...new URLSearchParams(Buffer.from(post.body, 'base64').toString('utf8'))].map(([name, value]) => ({ name, value }));
  return pages.render('post-replay-form', { title: 'Sending your form again' }, { url: post.url, nonce, fields });
}

function fetchPage(pages: PageSet, post: KeptPost, nonce: string): string {
  const kept = JSON.stringify({ url: post.url, contentType: post.contentType, body: post.body });
  return pages.render('post-replay-fetch', { title: 'Sending your form again' }, { nonce, post: kept });
}
