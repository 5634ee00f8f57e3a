import type { ApiTokenRecord } from '@vallum/session';
import type { CacheApi } from './apis.js';

/**
 * Denies a token until it expires: its record says when; an unrecorded one is denied for the maximum lifetime, after
 * which no proxy lets it in anyway. Returns the record, when there is one, and the end of the denial.
 */
export async function revokeApiTokenUntilExpiry(
  cache: Pick<CacheApi, 'listApiTokens' | 'revokeApiToken'>,
  jti: string,
  maxLifetimeMs: number,
): Promise<{ record: ApiTokenRecord | undefined; until: number }> {
  const record = (await cache.listApiTokens()).find((r) => r.jti === jti);
  const until = record?.expiresAt ?? Date.now() + maxLifetimeMs;
  await cache.revokeApiToken(jti, until);
  return { record, until };
}
