// What one client may cost authenticate before it is known: sign-in, the IdP callback (each ends in work at the IdP)
// and back-channel logout are rate limited per client address (429 + Retry-After), and no request body is ever
// inflated: a Content-Encoding other than identity gets 415 before anything reads the body (GHSA-ggw3-5987-rx77).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { VallumConfig } from '@vallum/config';
import type { VallumMetrics } from '@vallum/telemetry';
import { ErrorCodes, VallumError, type ErrorCode } from '@vallum/errors';
import { addressKey, clientAddress, createRateLimiter, createTrustCheck, replyError, type RateLimiter, type RateLimiterStats } from '@vallum/server-kit';
import { BACKCHANNEL_LOGOUT_PATH } from './backchannel-logout.js';

export const SIGN_IN_PATH = '/.vallum/sign_in';

export interface AbuseLimits {
  /** Counters per limited path, for metrics. */
  stats(): Record<string, RateLimiterStats>;
}

export interface AbuseLimitsOptions {
  callbackPath: string;
  /** Counts each 429 in vallum_auth_rate_limited_requests_total; none when absent. */
  metrics?: VallumMetrics | undefined;
}

export function registerAbuseLimits(app: FastifyInstance, config: Pick<VallumConfig, 'limits' | 'trustedProxies'>, options: AbuseLimitsOptions): AbuseLimits {
  const trusted = createTrustCheck(config.trustedProxies);
  /** Per limited path: its limiter, and its name in metrics. */
  const limiters = new Map<string, { limiter: RateLimiter; endpoint: string }>();
  const { signIn, backchannelLogout } = config.limits;
  if (signIn) {
    limiters.set(SIGN_IN_PATH, { limiter: createRateLimiter(signIn), endpoint: 'sign_in' });
    limiters.set(options.callbackPath, { limiter: createRateLimiter(signIn), endpoint: 'callback' });
  }
  if (backchannelLogout) limiters.set(BACKCHANNEL_LOGOUT_PATH, { limiter: createRateLimiter(backchannelLogout), endpoint: 'backchannel_logout' });

  app.addHook('onRequest', async (req, reply) => {
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      return refuse(req, reply, 415, ErrorCodes.UNSUPPORTED_CONTENT_ENCODING, 'Compressed request bodies are not accepted here.', { connection: 'close' });
    }
    const limited = limiters.get(req.routeOptions.url ?? '');
    if (!limited) return;
    const wait = limited.limiter.take(addressKey(clientAddress(req.raw.socket.remoteAddress, req.headers['x-forwarded-for'], trusted)));
    if (wait === 0) return;
    options.metrics?.authRateLimited.inc({ endpoint: limited.endpoint });
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
  return { stats: () => Object.fromEntries([...limiters].map(([path, l]) => [path, l.limiter.stats()])) };
}

function refuse(req: FastifyRequest, reply: FastifyReply, status: number, code: ErrorCode, message: string, headers: Record<string, string>): FastifyReply {
  const refused = new VallumError(code, message, { status, details: { headers } });
  // The IdP posts back-channel logouts and reads JSON; browsers get a page.
  return replyError(reply, refused, { format: req.routeOptions.url === BACKCHANNEL_LOGOUT_PATH ? 'json' : 'negotiate' });
}
