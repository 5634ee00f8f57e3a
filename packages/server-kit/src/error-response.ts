// The one way every service answers with an error: a VallumError (or anything thrown) becomes a status, headers
// and a body — Vallum's HTML page for browsers, JSON for clients that ask for it — with the request id, and the
// error's own message only when it is safe to show (`expose`). Used by fastify's error handlers and by the proxy's
// raw node:http paths alike.
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { ErrorCodes, isVallumError, type ErrorCode } from '@vallum/errors';
import { DEFAULT_PAGES, type PageSet } from '@vallum/pages';
import { pagesOf } from './html.js';

export interface ErrorRenderOptions {
  requestId: string;
  /** The request's Accept header: JSON when it asks for JSON and not for HTML. */
  accept?: string | undefined;
  /** 'json' for APIs called by programs, which answer JSON whatever the Accept header says. */
  format?: 'negotiate' | 'json';
  /** The page's heading; by default one that fits the status. */
  title?: string;
  /** Shown when the error's own message is not safe to show. */
  genericMessage?: string;
  /** Where a "Try again" button on the page leads. */
  retryUrl?: string;
  /** The config's pages (templates and branding); the built-in ones when absent. */
  pages?: PageSet | undefined;
}

export interface RenderedError {
  status: number;
  /** Without content-length, which the sender sets. */
  headers: Record<string, string>;
  body: string;
}

/** What a client may learn about an error. */
export interface ErrorView {
  status: number;
  code: ErrorCode;
  message: string;
  /** Extra response headers the error asks for (e.g. Retry-After on a 429, Connection: close on a 413). */
  headers?: Record<string, string>;
  /** Why a request was refused (a policy's reasons), shown with an exposed error's message. */
  reasons?: readonly Reason[];
}

export interface Reason {
  code: string;
  message: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Access denied',
  404: 'Not found',
  413: 'Request too large',
  415: 'Request refused',
  429: 'Too many requests',
  495: 'Client certificate required',
  502: 'Application unavailable',
  503: 'Service unavailable',
  504: 'Application unavailable',
};

const GENERIC_MESSAGE = 'Something went wrong.';

/** What a 503 (an IdP, the session store or another service down) tells clients when to try again, in seconds. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

export function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/json') && !accept.includes('text/html');
}

/**
 * The client's view of an error. A VallumError shows its code, status and (when `expose`) message and the reasons
 * in `details.reasons`; anything else
 * is a 500 with a generic message, except an error carrying a 4xx `statusCode` (fastify's own, e.g. a body that
 * fails its schema), whose message describes the client's request.
 */
export function errorView(err: unknown, genericMessage = GENERIC_MESSAGE): ErrorView {
  if (isVallumError(err)) {
    const own = err.details?.headers as Record<string, string> | undefined;
    // Every 503 is temporary by nature: it says when to come back unless the error knows better.
    const headers = err.status === 503 && own?.['retry-after'] === undefined ? { ...own, 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) } : own;
    const reasons = err.expose ? (err.details?.reasons as readonly Reason[] | undefined) : undefined;
    return {
      status: err.status,
      code: err.code,
      message: err.expose ? err.message : genericMessage,
      ...(headers ? { headers } : {}),
      ...(reasons ? { reasons } : {}),
    };
  }
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { status: statusCode, code: ErrorCodes.BAD_REQUEST, message: err instanceof Error ? err.message : genericMessage };
  }
  return { status: 500, code: ErrorCodes.INTERNAL, message: genericMessage };
}

export function renderError(err: unknown, options: ErrorRenderOptions): RenderedError {
  const view = errorView(err, options.genericMessage);
  return renderErrorView(view, options, (pages, frame) =>
    pages.render('error', frame, { message: view.message, reasons: view.reasons, unavailable: view.status === 503, retryUrl: options.retryUrl }),
  );
}

export interface DenialInput {
  email: string;
  host: string;
  reasons: readonly Reason[];
}

/** The 403 a signed-in user gets when the policy says no: who they are, where, and why. */
export function renderDenial(input: DenialInput, options: ErrorRenderOptions): RenderedError {
  const view: ErrorView = { status: 403, code: ErrorCodes.ACCESS_DENIED, message: `You may not open ${input.host}.`, reasons: input.reasons };
  return renderErrorView(view, options, (pages, frame) =>
    pages.render('denied', frame, { user: input.email || 'an unknown user', host: input.host, reasons: input.reasons }),
  );
}

type PageOf = (pages: PageSet, frame: { title: string; status: number; requestId: string }) => string;

function renderErrorView(view: ErrorView, options: ErrorRenderOptions, page: PageOf): RenderedError {
  const json = options.format === 'json' || wantsJson(options.accept);
  const reasons = view.reasons?.map((r) => ({ code: r.code, message: r.message }));
  const body = json
    ? JSON.stringify({ code: view.code, message: view.message, ...(reasons ? { reasons } : {}), request_id: options.requestId })
    : page(options.pages ?? DEFAULT_PAGES, {
        title: options.title ?? TITLES[view.status] ?? 'Request failed',
        status: view.status,
        requestId: options.requestId,
      });
  return {
    status: view.status,
    headers: {
      'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-request-id': options.requestId,
      ...view.headers,
    },
    body,
  };
}

/** Writes a rendered error on a raw response; one whose response has started can only be cut short. */
export function writeRenderedError(res: ServerResponse, rendered: RenderedError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(rendered.status, { ...rendered.headers, 'content-length': Buffer.byteLength(rendered.body) });
  res.end(rendered.body);
}

export function replyRenderedError(reply: FastifyReply, rendered: RenderedError): FastifyReply {
  return reply.status(rendered.status).headers(rendered.headers).send(rendered.body);
}

/** renderError + writeRenderedError, for raw node:http paths. */
export function sendError(res: ServerResponse, err: unknown, options: ErrorRenderOptions): void {
  writeRenderedError(res, renderError(err, options));
}

/** renderError + replyRenderedError, for fastify handlers; the request id and Accept header come from the request. */
export function replyError(reply: FastifyReply, err: unknown, options: Omit<ErrorRenderOptions, 'requestId' | 'accept'> = {}): FastifyReply {
  const rendered = renderError(err, { pages: pagesOf(reply.server), ...options, requestId: reply.request.id, accept: reply.request.headers.accept });
  return replyRenderedError(reply, rendered);
}
