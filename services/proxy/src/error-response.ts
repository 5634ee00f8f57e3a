// The ErrorHandler: what a client sees when Vallum cannot answer for the app — an HTML page with the request id, or
// JSON when the client asks for JSON rather than HTML.
import type { ServerResponse } from 'node:http';
import { isVallumError } from '@vallum/errors';
import { messagePage } from './pages.js';

export function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/json') && !accept.includes('text/html');
}

const TITLES: Record<number, string> = {
  413: 'Request too large',
  429: 'Too many requests',
  502: 'Application unavailable',
  503: 'Service unavailable',
  504: 'Application unavailable',
};

export function sendError(res: ServerResponse, err: unknown, requestId: string, accept: string | undefined): void {
  const known = isVallumError(err);
  const status = known ? err.status : 500;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const title = TITLES[status] ?? 'Request failed';
  const message = known && err.expose !== false ? err.message : 'Something went wrong.';
  const json = wantsJson(accept);
  const body = json
    ? JSON.stringify({ code: known ? err.code : 'VALLUM_INTERNAL', message, request_id: requestId })
    : messagePage(title, message, status, requestId);
  res.writeHead(status, {
    'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    // e.g. Retry-After on a 429
    ...(known ? (err.details?.headers as Record<string, string> | undefined) : undefined),
  });
  res.end(body);
}
