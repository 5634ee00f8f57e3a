// The pipeline's own answers, written straight to the client: a refused target, the access check's sign-in
// redirect, denial page or ready-made answer, and errors (the one renderer in @vallum/server-kit renders those).
import type { ServerResponse } from 'node:http';
import { ErrorCodes, VallumError } from '@vallum/errors';
import { renderDenial, renderError, sendError, writeRenderedError, type PageSet } from '@vallum/server-kit';
import { clearedSessionCookie } from '@vallum/session';
import type { AccessResult } from './access.js';
import type { TargetMatch, TargetRefusal } from './match-target.js';
import type { ProxyState } from './proxy-state.js';
import { closeLingering } from './lingering-close.js';
import { refusalError } from './refusal-errors.js';
import { cookieSecure } from './session-routes.js';

/** An error as a page or JSON (by the client's Accept), with the request id. */
export function respondError(res: ServerResponse, err: unknown, requestId: string, accept: string | undefined, pages?: PageSet): void {
  if (res.req.httpVersionMajor === 1) {
    closeLingering(res);
    sendError(res, err, { requestId, accept, pages });
    return;
  }
  // An HTTP/2 stream ends by itself: its connection carries other streams, is not lingered on, and takes no
  // Connection header (node:http2 would drop it with a process warning).
  const rendered = renderError(err, { requestId, accept, pages });
  delete rendered.headers.connection;
  writeRenderedError(res, rendered);
}

/** Everything the access check answers but `forward`. */
export type OwnAnswer = Exclude<AccessResult, { kind: 'forward' }>;

/** The request target matches no route, or matches one in a way that is refused. */
export function respondRefusal(res: ServerResponse, refusal: TargetRefusal, requestId: string, accept: string | undefined, pages?: PageSet): void {
  respondError(res, refusalError(refusal), requestId, accept, pages);
}

/** The access check's answer when it is not to forward: sign in, denied, or an answer of Vallum's own. */
export function respondToCheck(
  state: ProxyState,
  res: ServerResponse,
  m: TargetMatch,
  result: OwnAnswer,
  requestId: string,
  accept: string | undefined,
  /** A Set-Cookie of the sign-in redirect besides the session cookie's (a kept form post's slot). */
  signInCookie?: string,
): void {
  switch (result.kind) {
    case 'respond':
      // Bearer tokens are sent by programs: JSON, whatever they accept.
      sendError(res, result.error, { requestId, format: 'json' });
      return;
    case 'sign-in': {
      if (isGrpc(res.req.headers['content-type'])) {
        sendError(res, new VallumError(ErrorCodes.UNAUTHORIZED, GRPC_SIGN_IN, { status: 401, expose: true }), { requestId, format: 'json' });
        return;
      }
      const { config } = state;
      const headers: Record<string, string | string[]> = { location: result.location, 'cache-control': 'no-store', 'content-length': '0' };
      const cookies = result.clearCookie ? [clearedSessionCookie(config.cookieName, cookieSecure(config, m.route))] : [];
      if (signInCookie) cookies.push(signInCookie);
      if (cookies.length) headers['set-cookie'] = cookies;
      res.writeHead(302, headers);
      res.end();
      return;
    }
    case 'deny':
      writeRenderedError(res, renderDenial({ email: result.email, host: m.host, reasons: result.reasons }, { requestId, accept, pages: state.config.pages }));
      return;
  }
}

/** A gRPC client cannot follow the sign-in redirect: it gets 401, which gRPC clients read as UNAUTHENTICATED. */
const GRPC_SIGN_IN = 'Sign in first: send a bearer token in the authorization metadata.';

function isGrpc(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.startsWith('application/grpc');
}
