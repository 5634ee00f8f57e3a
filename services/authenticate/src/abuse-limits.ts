// What one client may cost authenticate before it is known: sign-in, the IdP callback (each ends in work at the IdP)
// and back-channel logout are rate limited per client address (429 + Retry-After), and no request body is ever
// inflated: a Content-Encoding other than identity gets 415 before anything reads the body (GHSA-ggw3-5987-rx77).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { VallumConfig } from '@vallum/config';
import { ErrorCodes, VallumError, type ErrorCode } from '@vallum/errors';
import { addressKey, clientAddress, createRateLimiter, createTrustCheck, replyError, type RateLimiter, type RateLimiterStats } from '@vallum/server-kit';
import { BACKCHANNEL_LOGOUT_PATH } from './backchannel-logout.js';

export const SIGN_IN_PATH = '/.vallum/sign_in';

export interface AbuseLimits {
  /** Counters per limited path, for metrics. */
  stats(): Record<string, RateLimiterStats>;
}

export function registerAbuseLimits(app: FastifyInstance, config: Pick<VallumConfig, 'limits' | 'trustedProxies'>, callbackPath: string): AbuseLimits {
  const trusted = createTrustCheck(config.trustedProxies);
  const limiters = new Map<string, RateLimiter>();
  const { signIn, backchannelLogout } = config.limits;
  if (signIn) {
    limiters.set(SIGN_IN_PATH, createRateLimiter(signIn));
    limiters.set(callbackPath, createRateLimiter(signIn));
  }
  if (backchannelLogout) limiters.set(BACKCHANNEL_LOGOUT_PATH, createRateLimiter(backchannelLogout));

  app.addHook('onRequest', async (req, reply) => {
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      return refuse(req, reply, 415, ErrorCodes.UNSUPPORTED_CONTENT_ENCODING, 'Compressed request bodies are not accepted here.', { connection: 'close' });
    }
    const limiter = limiters.get(req.routeOptions.url ?? '');
    if (!limiter) return;
    const wait = limiter.take(addressKey(clientAddress(req.raw.socket.remoteAddress, req.headers['x-forwarded-for'], trusted)));
    if (wait === 0) return;
    req.log.debug({ path: req.routeOptions.url, retryAfter: wait }, 'rate limited');
    return refuse(
      req,
      reply,
      429,
      ErrorCodes.RATE_LIMITED,
      `Too many sign-in requests from your address. Try again in ${wait} second${wait === 1 ? '' : 's'}.`,
      {
        'retry-after': String(wait),
      },
    );
  });
  return { stats: () => Object.fromEntries([...limiters].map(([path, l]) => [path, l.stats()])) };
}

function refuse(req: FastifyRequest, reply: FastifyReply, status: number, code: ErrorCode, message: string, headers: Record<string, string>): FastifyReply {
  const refused = new VallumError(code, message, { status, details: { headers } });
  // The IdP posts back-channel logouts and reads JSON; browsers get a page.
  return replyError(reply, refused, { format: req.routeOptions.url === BACKCHANNEL_LOGOUT_PATH ? 'json' : 'negotiate' });
}
