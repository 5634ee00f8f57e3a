// Step-up: whether a session's sign-in at the IdP is recent enough (`max_session_age`) and strong enough
// (`acr_values`) for a route. The proxy asks it of every session on such a route; authenticate asks it of a
// session before it hands it over, and of a fresh sign-in before it keeps it.
import type { SessionView } from './types.js';

export interface StepUpRequirement {
  /** The sign-in must be at most this old (ms). */
  maxSessionAgeMs?: number | undefined;
  /** The sign-in's `acr` must be one of these. */
  acrValues?: readonly string[] | undefined;
}

/** What a sign-in proved: when (epoch ms) and with which assurance. */
export type SignInFacts = Pick<SessionView, 'authTime' | 'acr'>;

export type StepUpShortfall = 'max-age' | 'acr';

/** When the user last signed in at the IdP: its `auth_time`, else the session's start. */
export function signInTime(session: Pick<SessionView, 'authTime' | 'createdAt'>): number {
  return session.authTime ?? session.createdAt;
}

/** What the sign-in lacks for the requirement; undefined when it meets it. `skewMs` tolerates an IdP clock behind ours. */
export function stepUpShortfall(
  authTime: number,
  acr: string | undefined,
  requirement: StepUpRequirement,
  now: number,
  skewMs = 0,
): StepUpShortfall | undefined {
  if (requirement.maxSessionAgeMs !== undefined && now - authTime > requirement.maxSessionAgeMs + skewMs) return 'max-age';
  if (requirement.acrValues !== undefined && (acr === undefined || !requirement.acrValues.includes(acr))) return 'acr';
  return undefined;
}

/** The shortfall of a session for a route's requirement (see stepUpShortfall). */
export function sessionStepUpShortfall(session: SessionView, requirement: StepUpRequirement, now: number): StepUpShortfall | undefined {
  if (requirement.maxSessionAgeMs === undefined && requirement.acrValues === undefined) return undefined;
  return stepUpShortfall(signInTime(session), session.acr, requirement, now);
}
