// No lost form posts (`preserve_post`): a POST that arrives without a valid session (it expired while the user filled
// in the form) is read up to the route's limit, sealed (AES-256-GCM, a key derived from cookie_secret) and kept in a
// one-time slot of the session store for 10 minutes, named by a cookie on the route host. The route host's end of the
// sign-in takes it (once) and answers with a page that sends it again (post-replay-page.ts). The body is never logged.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { secretList, type RouteConfig, type VallumConfig } from '@vallum/config';
import type { CacheViewApi } from '@vallum/service-client';
import { clearedSessionCookie, createSealedValueCodec } from '@vallum/session';
import { requestCookie } from './request-cookie.js';

/** How long a kept post waits for its sign-in: the sign-in's own state lasts as long. */
export const POST_SLOT_TTL_SECONDS = 600;
/** The bodies a page can send again: forms (by an auto-submitting form) and JSON (by fetch, as sent). */
const KEPT_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json']);
const SLOT_ID = /^[A-Za-z0-9_-]{24}$/;

export interface KeptPost extends Record<string, unknown> {
  /** The route's origin and the request target (path + query) it was sent to. */
  origin: string;
  url: string;
  /** As the browser sent it (a multipart boundary included). */
  contentType: string;
  /** base64 */
  body: string;
}

export interface PostKeeper {
  /** The largest body this request's POST may keep; 0 when it is not one to keep (see `keepable`). */
  limitFor(req: IncomingMessage, route: RouteConfig): number;
  /**
   * Reads the body (up to `limit`), seals and stores it: the Set-Cookie value naming the slot, or undefined when the
   * body was larger than the limit or could not be read.
   */
  keep(req: IncomingMessage, route: RouteConfig, rawUrl: string, limit: number, secure: boolean): Promise<string | undefined>;
  /** The post this browser kept for `target`, taken from the store (a second take finds nothing); null when none. */
  take(cookieHeader: string | string[] | undefined, target: URL): Promise<KeptPost | null>;
  /** The slot cookie's name, to clear it. */
  readonly cookieName: string;
}

export function createPostKeeper(config: VallumConfig, cache: Pick<CacheViewApi, 'putOneTimeValue' | 'takeOneTimeValue'>): PostKeeper {
  const codec = createSealedValueCodec<KeptPost>(secretList(config.cookieSecret, config.previousCookieSecrets), 'preserved-post');
  const cookieName = `${config.cookieName}_post`;
  const slotKey = (id: string) => `post:${id}`;
  return {
    cookieName,
    limitFor(req, route) {
      const limit = route.preservePostMaxBytes ?? config.preservePostMaxBytes;
      return limit > 0 && keepable(req, route, limit) ? limit : 0;
    },
    async keep(req, route, rawUrl, limit, secure) {
      const body = await readBody(req, limit);
      if (!body) return undefined;
      const id = randomBytes(18).toString('base64url');
      const post: KeptPost = { origin: route.from, url: rawUrl, contentType: String(req.headers['content-type']), body: body.toString('base64') };
      await cache.putOneTimeValue(slotKey(id), await codec.seal(post, POST_SLOT_TTL_SECONDS), POST_SLOT_TTL_SECONDS);
      return `${cookieName}=${id}; Max-Age=${POST_SLOT_TTL_SECONDS}; Path=/; HttpOnly; ${secure ? 'Secure; ' : ''}SameSite=Lax`;
    },
    async take(cookieHeader, target) {
      const id = requestCookie(cookieHeader, cookieName);
      if (id === undefined || !SLOT_ID.test(id)) return null;
      const sealed = await cache.takeOneTimeValue(slotKey(id));
      const post = sealed === null ? null : await codec.open(sealed);
      // Only on the page it was sent to: a sign-in that returns elsewhere leaves it to expire.
      return post && post.origin === target.origin && post.url === `${target.pathname}${target.search}` ? post : null;
    },
  };
}

/** The slot cookie, removed once the post was sent again (or was not to be). */
export function clearedPostCookie(keeper: PostKeeper, secure: boolean): string {
  return clearedSessionCookie(keeper.cookieName, secure);
}

/**
 * A POST worth keeping: a form or JSON body, not compressed, not declared larger than the limit, and sent by a page of
 * the route's own origin. A cross-site POST is never kept: sending it after sign-in would carry out a forged request
 * the expired session had stopped.
 */
function keepable(req: IncomingMessage, route: RouteConfig, limit: number): boolean {
  if (req.method !== 'POST') return false;
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (!KEPT_TYPES.has(type) || req.headers['content-encoding'] !== undefined) return false;
  const length = req.headers['content-length'];
  if (length !== undefined && !(Number(length) <= limit)) return false;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  return req.headers.origin === route.from;
}

/** The whole body, or undefined when it passes `limit` or the client goes away. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (value: Buffer | undefined) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onError);
      // Whatever is left of a body too large to keep is read and dropped, so the connection can carry the redirect.
      if (value === undefined) req.resume();
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return done(undefined);
      chunks.push(chunk);
    };
    const onEnd = () => done(Buffer.concat(chunks, size));
    const onError = () => done(undefined);
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onError);
  });
}
