/** The IdP's tokens of a session: only authenticate and the cache's refresher ever see them. */
export interface IdpTokens {
  idToken?: string;
  accessToken?: string;
  refreshToken?: string;
}

/** A signed-in user's session as the proxy sees it: who, until when, and no IdP token. Times are epoch milliseconds. */
export interface SessionView {
  id: string;
  sub: string;
  email: string;
  groups: string[];
  claims: Record<string, unknown>;
  /** When the IdP's access token expires. */
  tokenExpiresAt?: number;
  /** The name of the IdP that made the session (`idps` key); absent = the default IdP (`idp`). */
  idp?: string;
  /** The IdP's session id (`sid` claim), for back-channel logout. */
  idpSid?: string;
  /** Sign-in ends after this long without a request (`session_idle_timeout`); absent = no idle limit. */
  idleTimeoutMs?: number;
  /** When the user last authenticated at the IdP (the ID token's `auth_time`), epoch ms; absent = `createdAt`. */
  authTime?: number;
  /** The authentication context class the IdP reported (the ID token's `acr`). */
  acr?: string;
  createdAt: number;
  expiresAt: number;
}

/** A signed-in user's session, kept server-side by the cache service, with the IdP's tokens. */
export interface Session extends SessionView, IdpTokens {}

/** The session without its IdP tokens (a copy; the argument is left as it was). */
export function sessionView(session: SessionView & IdpTokens): SessionView {
  const { idToken: _i, accessToken: _a, refreshToken: _r, ...view } = session;
  return view;
}
