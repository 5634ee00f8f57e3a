// `preserve_post`: a form (or JSON) POST that arrives on an expired session is kept, sealed, through the sign-in and
// sent again after it. Globally and per route; spread into ConfigSchema and RouteSchema.
import { Type } from '@sinclair/typebox';
import { SIZE_PATTERN } from './parse-values.js';

const PreservePost = (description: string) =>
  Type.Optional(
    Type.Union(
      [
        Type.Literal(false),
        Type.Object(
          {
            max_bytes: Type.Union([Type.Integer({ minimum: 1, maximum: 1_048_576 }), Type.String({ pattern: SIZE_PATTERN })], {
              description: 'Largest body kept (bytes, or 64KiB…, at most 1MiB); a larger POST signs in without it (default 64KiB)',
            }),
          },
          { additionalProperties: false },
        ),
      ],
      { description },
    ),
  );

export const PreservePostRouteKeys = {
  preserve_post: PreservePost('This route’s preserve_post: false turns it off, {max_bytes} sets its own limit (default: the top-level setting)'),
};

export const PreservePostGlobalKeys = {
  preserve_post: PreservePost(
    'A form or JSON POST arriving without a valid session is kept sealed for 10 minutes, once, and re-sent after sign-in; false turns it off (default {max_bytes: 64KiB})',
  ),
};
