// Step-up at sign-in: a route's requirement arrives on the sign-in link (`max_age`, `acr_values`, set by the proxy),
// goes on to the IdP, and what the IdP answers is checked against it before the session is kept or upgraded.
import { VallumError, ErrorCodes } from '@vallum/errors';
import { stepUpShortfall, type SignInFacts, type StepUpRequirement } from '@vallum/session';

export interface StepUpRequest extends Record<string, unknown> {
  maxAgeSeconds?: number;
  acrValues?: string[];
}

/** An IdP clock this far behind ours still counts as having honoured max_age. */
const AUTH_TIME_SKEW_MS = 5_000;
const MAX_AGE = /^\d{1,9}$/;
const ACR_VALUE = /^\S{1,200}$/;

const malformed = (what: string) =>
  new VallumError(ErrorCodes.BAD_REQUEST, `This sign-in link is malformed (${what}). Please open the application again.`, { status: 400 });

/** The step-up the sign-in link asks for; undefined for a plain sign-in. Throws 400 for a malformed one. */
export function readStepUp(query: { max_age?: string | undefined; acr_values?: string | undefined }): StepUpRequest | undefined {
  if (query.max_age === undefined && query.acr_values === undefined) return undefined;
  const request: StepUpRequest = {};
  if (query.max_age !== undefined) {
    if (!MAX_AGE.test(query.max_age)) throw malformed('max_age');
    request.maxAgeSeconds = Number(query.max_age);
  }
  if (query.acr_values !== undefined) {
    const values = query.acr_values.split(' ').filter(Boolean);
    if (values.length === 0 || values.length > 20 || !values.every((v) => ACR_VALUE.test(v))) throw malformed('acr_values');
    request.acrValues = values;
  }
  return request;
}

export function requirementOf(request: StepUpRequest): StepUpRequirement {
  return { maxSessionAgeMs: request.maxAgeSeconds === undefined ? undefined : request.maxAgeSeconds * 1000, acrValues: request.acrValues };
}

/** The authorization request's parameters for it (OIDC Core §3.1.2.1). */
export function stepUpParams(request: StepUpRequest | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  if (request?.maxAgeSeconds !== undefined) params.max_age = String(request.maxAgeSeconds);
  if (request?.acrValues !== undefined) params.acr_values = request.acrValues.join(' ');
  return params;
}

/** What the ID token says of the sign-in: `auth_time` (else now: the session starts now) and `acr`. */
export function signInFactsOf(idClaims: Record<string, unknown> | undefined, now: number): Required<Pick<SignInFacts, 'authTime'>> & SignInFacts {
  const authTime = typeof idClaims?.auth_time === 'number' && Number.isFinite(idClaims.auth_time) ? Math.min(idClaims.auth_time * 1000, now) : now;
  const acr = idClaims?.acr;
  return typeof acr === 'string' && acr !== '' ? { authTime, acr } : { authTime };
}

/** Throws VALLUM_STEP_UP_FAILED (403, a page that says why) when the IdP's sign-in does not meet the request. */
export function assertStepUpMet(request: StepUpRequest, facts: ReturnType<typeof signInFactsOf>, now: number): void {
  const shortfall = stepUpShortfall(facts.authTime, facts.acr, requirementOf(request), now, AUTH_TIME_SKEW_MS);
  if (shortfall === 'max-age') {
    const minutes = Math.max(1, Math.round((now - facts.authTime) / 60_000));
    throw new VallumError(
      ErrorCodes.STEP_UP_FAILED,
      `This application needs you to have signed in within the last ${duration(request.maxAgeSeconds ?? 0)}, but your identity provider reported a sign-in about ${minutes} minute(s) old and did not ask for your credentials again. Your other applications keep working; ask your administrator if this repeats.`,
      { status: 403, expose: true },
    );
  }
  if (shortfall === 'acr') {
    throw new VallumError(
      ErrorCodes.STEP_UP_FAILED,
      `This application needs a stronger sign-in (${(request.acrValues ?? []).join(' or ')}), but your identity provider signed you in with ${facts.acr ?? 'no assurance level'}. Your other applications keep working; ask your administrator how to sign in with the stronger method.`,
      { status: 403, expose: true },
    );
  }
}

function duration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} hour(s)`;
  if (seconds % 60 === 0) return `${seconds / 60} minute(s)`;
  return `${seconds} second(s)`;
}
