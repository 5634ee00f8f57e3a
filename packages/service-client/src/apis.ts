// The interfaces the services offer one another. Each has an in-process implementation (the service itself, in
// all-in-one mode) and an HTTP client here (split mode); callers cannot tell them apart.
import type { Decision, Identity, RequestInfo } from '@vallum/policy';
import type { ApiTokenRecord, Session, SessionView } from '@vallum/session';

export interface AuthorizeRequest {
  /** The route's id (its `name`, or its index in `routes`). */
  routeId: string;
  identity: Identity | null;
  request: RequestInfo;
  /** The proxy's request id, so the decision log line can be joined to the access log. */
  requestId?: string;
  /** The proxy's traceparent: sent as a header by the HTTP client, so the authorize service's lines join the trace. */
  traceparent?: string;
}

export interface AuthorizeApi {
  evaluate(input: AuthorizeRequest): Promise<Decision>;
  /** The decision without waiting, when it can be had in-process (the authorizer itself, or a cached one). */
  peek?(input: AuthorizeRequest): Decision | undefined;
  /** Whether the route's policy looks at request headers; callers send none when it does not. Absent: assume it does. */
  readsHeaders?(routeId: string): boolean;
}

/**
 * The cache as the proxy sees it: sessions without the IdP's tokens, so no code path of the proxy can read, log or
 * show one (CVE-2024-39315). The proxy is handed `cacheView(...)` of the full API, in-process or over HTTP.
 */
export interface CacheViewApi {
  getSession(id: string): Promise<SessionView | null>;
  deleteSession(id: string): Promise<void>;
  /**
   * Sign-out: deletes the session (as deleteSession) and keeps nothing of it but its ID token, for `keepSeconds`,
   * so authenticate can still send `id_token_hint` to the IdP. The ended session can never be read or used again.
   */
  endSession(id: string, keepSeconds: number): Promise<void>;
  /** True the first time a key is claimed within ttlSeconds, false after: makes one-time tokens one-time. */
  claimOnce(key: string, ttlSeconds: number): Promise<boolean>;
  /** Keeps a value (e.g. a sealed form post) under `key` for `ttlSeconds`, to be taken once (takeOneTimeValue). */
  putOneTimeValue(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** The value put under `key`, removed as it is read: a second take gets null. */
  takeOneTimeValue(key: string): Promise<string | null>;
  /** Extends a session's idle deadline by its `idleTimeoutMs`; false when the session is gone or already idle. */
  touchSession(id: string): Promise<boolean>;
  /** The live sessions of one user (`sub`), optionally only those of one IdP session (`sid`). */
  findSessions(query: SessionQuery): Promise<SessionView[]>;
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

/** The whole cache API, IdP tokens included: authenticate and the cache service itself. */
export interface CacheApi extends CacheViewApi {
  /** Resolves when the store answers (Redis PING, the cache service's readiness); throws when it does not. */
  ping(): Promise<void>;
  getSession(id: string): Promise<Session | null>;
  findSessions(query: SessionQuery): Promise<Session[]>;
  putSession(session: Session): Promise<void>;
  /** Replaces a session only while it still exists (a refresh never brings back a session that was signed out). */
  updateSession(session: Session): Promise<boolean>;
  /** The ID token endSession kept, once: the record is removed as it is read. */
  takeEndedIdToken(id: string): Promise<string | null>;
}

/** The change event that tells subscribers a token was revoked (session ids never take this form). */
export const apiTokenEvent = (jti: string): string => `api-token:${jti}`;

/** A user's sessions (`sub`), those of one IdP session (`idpSid`), or both; at least one is given. */
export type SessionQuery = { sub: string; idpSid?: string } | { sub?: string; idpSid: string };
