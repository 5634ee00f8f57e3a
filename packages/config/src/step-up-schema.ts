// Per-route step-up: how recent the user's sign-in at the IdP must be, and with which assurance (acr). Spread into
// RouteSchema so the one schema stays the source of truth.
import { Type } from '@sinclair/typebox';
import { DURATION_PATTERN } from './parse-values.js';

export const StepUpRouteKeys = {
  max_session_age: Type.Optional(
    Type.String({
      pattern: DURATION_PATTERN,
      description: "A sign-in at the IdP older than this (its auth_time, else the session's start) is sent back to the IdP with max_age, e.g. 15m",
    }),
  ),
  acr_values: Type.Optional(
    Type.Array(Type.String({ minLength: 1, pattern: '^\\S+$' }), {
      minItems: 1,
      description: 'The IdP is asked for one of these assurances (acr_values); a session whose acr is not among them signs in again',
    }),
  ),
};
