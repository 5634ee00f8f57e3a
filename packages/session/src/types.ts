/** A signed-in user's session, kept server-side by the cache service. Times are epoch milliseconds. */
export interface Session {
  id: string;
  sub: string;
  email: string;
  groups: string[];
  claims: Record<string, unknown>;
  idToken?: string;
  accessToken?: string;
  refreshToken?: string;
  /** When the IdP's access token expires. */
  tokenExpiresAt?: number;
  /** The IdP's session id (`sid` claim), for back-channel logout. */
  idpSid?: string;
  /** Sign-in ends after this long without a request (`session_idle_timeout`); absent = no idle limit. */
  idleTimeoutMs?: number;
  createdAt: number;
  expiresAt: number;
}
