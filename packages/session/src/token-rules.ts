// The rules every JWT from outside Vallum is checked by (IdP tokens, workload tokens, logout tokens, signed claims).

/** Asymmetric only: never `none`, never an HMAC (which a public key could be fed to as a secret). */
export const ASYMMETRIC_JWT_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]);
/** Leeway for `exp`, `nbf` and `iat` between Vallum's clock and the issuer's. */
export const JWT_CLOCK_TOLERANCE_SECONDS = 30;
