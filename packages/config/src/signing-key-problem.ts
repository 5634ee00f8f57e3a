// The assertion signing key as the proxy loads it (assertion.ts), so a key it cannot use is refused with the
// setting's location instead of failing the proxy's start or reload.
import { createPrivateKey } from 'node:crypto';

/** Why this PEM cannot sign X-Vallum-Jwt-Assertion (ES256), or undefined when it can. */
export function signingKeyProblem(pem: string): string | undefined {
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? undefined : 'not a P-256 (ES256) private key';
  } catch {
    return 'not a PEM private key (PKCS#8 P-256 expected)';
  }
}
