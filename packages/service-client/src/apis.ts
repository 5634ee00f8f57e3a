// The interfaces the services offer one another. Each has an in-process implementation (the service itself, in
// all-in-one mode) and an HTTP client here (split mode); callers cannot tell them apart.
import type { Decision, Identity, RequestInfo } from '@vallum/policy';
import type { ApiTokenRecord, Session } from '@vallum/session';

export interface AuthorizeRequest {
  /** The route's id (its `name`, or its index in `routes`). */
  routeId: string;
  identity: Identity | null;
  request: RequestInfo;
  /** The proxy's request id, so the decision log line can be joined to the access log. */
  requestId?: string;
}

export interface AuthorizeApi {
  evaluate(input: AuthorizeRequest): Promise<Decision>;
  /** The decision without waiting, when it can be had in-process (the authorizer itself, or a cached one). */
  peek?(input: AuthorizeRequest): Decision | undefined;
  /** Whether the route's policy looks at request headers; callers send none when it does not. Absent: assume it does. */
  readsHeaders?(routeId: string): boolean;
}

export interface CacheApi {
  getSession(id: string): Promise<Session | null>;
  putSession(session: Session): Promise<void>;
  deleteSession(id: string): Promise<void>;
  /** True the first time a key is claimed within ttlSeconds, false after: makes one-time tokens one-time. */
  claimOnce(key: string, ttlSeconds: number): Promise<boolean>;
  /** Replaces a session only while it still exists (a refresh never brings back a session that was signed out). */
  updateSession(session: Session): Promise<boolean>;
  /** Extends a session's idle deadline by its `idleTimeoutMs`; false when the session is gone or already idle. */
  touchSession(id: string): Promise<boolean>;
  /** The live sessions of one user (`sub`), optionally only those of one IdP session (`sid`). */
  findSessions(query: SessionQuery): Promise<Session[]>;
  /**
   * Calls `listener` with the id of every session changed or deleted, by any process sharing this store, so
   * in-process copies can be dropped. Returns the unsubscribe function.
   */
  subscribe(listener: (sid: string) => void): () => void;
  /** Records a service-account token when it is issued (kept until it expires), for listing. */
  recordApiToken(record: ApiTokenRecord): Promise<void>;
  /** The recorded tokens not yet expired, revoked ones included (with `revokedAt`). */
  listApiTokens(): Promise<ApiTokenRecord[]>;
  /**
   * Puts a token on the deny list until `until` (its expiry); subscribers hear `apiTokenEvent(jti)`, so every proxy
   * drops its memo of the token at once.
   */
  revokeApiToken(jti: string, until: number): Promise<void>;
  isApiTokenRevoked(jti: string): Promise<boolean>;
}

/** The change event that tells subscribers a token was revoked (session ids never take this form). */
export const apiTokenEvent = (jti: string): string => `api-token:${jti}`;

/** A user's sessions (`sub`), those of one IdP session (`idpSid`), or both; at least one is given. */
export type SessionQuery = { sub: string; idpSid?: string } | { sub?: string; idpSid: string };
