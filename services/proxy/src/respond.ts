// The pipeline's own answers, written straight to the client: a refused target, the access check's sign-in
// redirect, denial page or ready-made answer, and errors (error-response.ts renders those).
import type { ServerResponse } from 'node:http';
import { clearedSessionCookie } from '@vallum/session';
import type { AccessResult } from './access.js';
import type { TargetMatch, TargetRefusal } from './match-target.js';
import { forbiddenPage, messagePage } from './pages.js';
import type { ProxyState } from './proxy-state.js';
import { cookieSecure } from './session-routes.js';

export { sendError as respondError } from './error-response.js';

/** Everything the access check answers but `forward`. */
export type OwnAnswer = Exclude<AccessResult, { kind: 'forward' }>;

export function respondPage(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(html) });
  res.end(html);
}

/** The request target matches no route, or matches one in a way that is refused. */
export function respondRefusal(res: ServerResponse, refusal: TargetRefusal, requestId: string): void {
  respondPage(res, refusal.status, messagePage(refusal.title, refusal.message, refusal.status, requestId));
}

/** The access check's answer when it is not to forward: sign in, denied, or an answer of Vallum's own. */
export function respondToCheck(state: ProxyState, res: ServerResponse, m: TargetMatch, result: OwnAnswer, requestId: string): void {
  switch (result.kind) {
    case 'respond':
      res.writeHead(result.status, { ...result.headers, 'content-length': Buffer.byteLength(result.body) });
      res.end(result.body);
      return;
    case 'sign-in': {
      const { config } = state;
      const headers: Record<string, string> = { location: result.location, 'cache-control': 'no-store', 'content-length': '0' };
      if (result.clearCookie) headers['set-cookie'] = clearedSessionCookie(config.cookieName, cookieSecure(config, m.route));
      res.writeHead(302, headers);
      res.end();
      return;
    }
    case 'deny':
      respondPage(res, 403, forbiddenPage({ email: result.email, host: m.host, reasons: result.reasons, requestId }));
      return;
  }
}
