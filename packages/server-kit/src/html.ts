// Sending Vallum's own pages; they are rendered from templates by @vallum/pages, with the config's branding.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DEFAULT_PAGES, type PageSet } from '@vallum/pages';

declare module 'fastify' {
  interface FastifyInstance {
    /** The pages of the config this app was built from (createServer's `pages`). */
    vallumPages: PageSet;
  }
}

/** The pages an app renders with: its config's (createServer's `pages`), else the built-in ones. */
export function pagesOf(app: FastifyInstance): PageSet {
  return app.hasDecorator('vallumPages') ? app.vallumPages : DEFAULT_PAGES;
}

/** Sends one of Vallum's own pages: HTML, never cached. */
export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.status(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
}
