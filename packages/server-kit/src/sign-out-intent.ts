// Sign-out must not be something another site can make a browser do (a link, an image, an auto-submitted form).
// A request it cannot vouch for gets a confirmation page instead, whose button POSTs from Vallum's own origin.
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import { pagesOf, sendPage } from './html.js';

const one = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
};

/**
 * True when a browser says the request was started by another site: `Sec-Fetch-Site: cross-site`, else an `Origin`
 * (sent on every POST) outside `trustedOrigins` or `null`, else, without Fetch Metadata, a `Referer` outside them.
 * A request with none of these did not come from a browser navigation another site could start.
 */
export function isCrossSiteRequest(headers: IncomingHttpHeaders, trustedOrigins: ReadonlySet<string>): boolean {
  const fetchSite = one(headers['sec-fetch-site']);
  if (fetchSite === 'cross-site') return true;
  const origin = one(headers.origin);
  if (origin !== undefined) return !trustedOrigins.has(origin);
  if (fetchSite !== undefined) return false;
  const referer = one(headers.referer);
  if (referer) {
    const from = originOf(referer);
    return from === undefined || !trustedOrigins.has(from);
  }
  return false;
}

/** The page a cross-site sign-out request gets: one button that POSTs the same request from this origin. */
export function sendSignOutConfirmation(reply: FastifyReply, input: { action: string; requestId: string }): FastifyReply {
  const html = pagesOf(reply.server).render('sign-out-confirm', { title: 'Sign out?', requestId: input.requestId }, { action: input.action });
  // The button must not be clickable inside another site's frame.
  reply.header('x-frame-options', 'DENY').header('content-security-policy', "frame-ancestors 'none'");
  return sendPage(reply, 200, html);
}
