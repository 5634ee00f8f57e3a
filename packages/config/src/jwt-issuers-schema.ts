// Keys of workload tokens: the issuers whose bearer JWTs Vallum accepts (`jwt_issuers`), and which of them a route
// lets in (`allow_jwt_issuers`). Spread into ConfigSchema / RouteSchema so the one schema stays the source of truth.
import { Type } from '@sinclair/typebox';

const JwtIssuer = Type.Object(
  {
    issuer: Type.String({
      minLength: 1,
      description: 'The `iss` of its tokens, compared exactly; keys by discovery at <issuer>/.well-known/openid-configuration',
    }),
    audience: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
      description: 'The `aud` its tokens must carry for Vallum (one of these), compared exactly',
    }),
    jwks_url: Type.Optional(Type.String({ minLength: 1, description: 'Where its signing keys are, instead of discovery' })),
    subject_claim: Type.Optional(Type.String({ minLength: 1, description: 'Claim that becomes the user (policy `user`, the assertion `sub`) (default sub)' })),
    groups_claim: Type.Optional(Type.String({ minLength: 1, description: 'Claim (a list or a string) that becomes the groups (default groups)' })),
    allow_insecure_http: Type.Optional(Type.Boolean({ description: 'Allow a plain-http issuer or jwks_url (loopback development only)' })),
  },
  { additionalProperties: false },
);

export const JwtIssuerGlobalKeys = {
  jwt_issuers: Type.Optional(
    Type.Array(JwtIssuer, {
      description: 'Workload tokens: issuers (Kubernetes service accounts, CI systems) whose bearer JWTs routes may accept with allow_jwt_issuers',
    }),
  ),
};

export const JwtIssuerRouteKeys = {
  allow_jwt_issuers: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      description: 'Issuers from jwt_issuers whose bearer tokens this route accepts; their identity then goes through the policy like a user',
    }),
  ),
};
