// Keys that bound what one client can cost: per-route rate limits and body sizes, and the top-level `limits` block
// (sign-in and back-channel logout rates per client address, listener timeouts, the connection cap). Spread into
// RouteSchema / ConfigSchema so the one schema stays the source of truth.
import { Type } from '@sinclair/typebox';
import { DURATION_PATTERN, SIZE_PATTERN } from './parse-values.js';

const Duration = (description: string) => Type.String({ pattern: DURATION_PATTERN, description: `${description}, e.g. 1s, 1m` });

const Rate = (description: string) =>
  Type.Object(
    {
      requests: Type.Integer({ minimum: 0, description: 'Requests allowed per `per` (a token bucket: bursts up to this many); 0 turns the limit off' }),
      per: Duration('Window the requests are spread over'),
    },
    { additionalProperties: false, description },
  );

export const LimitRouteKeys = {
  rate_limit: Type.Optional(
    Type.Object(
      {
        requests: Type.Integer({ minimum: 1, description: 'Requests allowed per `per` for one key (bursts up to this many)' }),
        per: Duration('Window the requests are spread over'),
        key: Type.Union([Type.Literal('user'), Type.Literal('ip')], { description: 'user: one budget per signed-in user; ip: one per client address' }),
      },
      { additionalProperties: false, description: 'Requests over the budget get 429 with Retry-After (checked after access is granted)' },
    ),
  ),
  max_request_body: Type.Optional(
    Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: SIZE_PATTERN })], {
      description: 'Largest request body forwarded (bytes, or 512KiB, 10MiB…); larger gets 413, a chunked body is cut where it passes the limit',
    }),
  ),
};

export const LimitGlobalKeys = {
  limits: Type.Optional(
    Type.Object(
      {
        sign_in: Type.Optional(Rate('Per client address, for each of /.vallum/sign_in and the IdP callback (default 300 per 1m)')),
        backchannel_logout: Type.Optional(Rate('Per client address, for /.vallum/backchannel_logout (default 600 per 1m)')),
        headers_timeout: Type.Optional(Duration('Time a client has to send a request head (default 30s)')),
        request_timeout: Type.Optional(Duration('Time a client has to send a whole request, body included; 0s = no limit (default 0s: long uploads work)')),
        keep_alive_timeout: Type.Optional(Duration('How long an idle keep-alive connection stays open (default 65s)')),
        max_connections: Type.Optional(
          Type.Integer({ minimum: 1, description: 'Open client connections one process accepts; more are closed at once (default 10000)' }),
        ),
      },
      { additionalProperties: false, description: 'Limits against abuse' },
    ),
  ),
};
