// Verifies the `x-vallum-jwt-assertion` header the way an upstream should: ES256, against Vallum's JWKS,
// audience = the host the request was addressed to.
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';

export type AssertionResult =
  | { status: 'missing'; claims: null }
  | { status: 'verified'; claims: JWTPayload }
  | { status: `invalid: ${string}`; claims: null; unverifiedClaims: JWTPayload | null };

export type AssertionVerifier = (token: string | undefined, audience: string) => Promise<AssertionResult>;

export function createAssertionVerifier(jwksUrl: string): AssertionVerifier {
  const jwks = createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: 5000 });
  return async (token, audience) => {
    if (token === undefined || token === '') return { status: 'missing', claims: null };
    try {
      const { payload } = await jwtVerify(token, jwks, { algorithms: ['ES256'], audience });
      return { status: 'verified', claims: payload };
    } catch (err) {
      const reason = (err as { code?: string }).code ?? 'ERR_UNKNOWN';
      return { status: `invalid: ${reason}: ${(err as Error).message}`, claims: null, unverifiedClaims: tryDecode(token) };
    }
  };
}

function tryDecode(token: string): JWTPayload | null {
  try {
    return decodeJwt(token);
  } catch {
    return null;
  }
}
