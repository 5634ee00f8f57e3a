// Where `vallum service-account` records, lists and revokes tokens: the deployment's own store, reached the way its
// services reach it: Redis at cache.redis_url, else the cache service at cache_service_url (a service token signed
// with shared_secret). A deployment that keeps sessions in one process's memory has no store to reach from outside.
import { secretList, type VallumConfig } from '@vallum/config';
import { createServiceTokenSigner } from '@vallum/service-auth';
import { createHttpCacheClient, type CacheApi } from '@vallum/service-client';

export type TokenStore = Pick<CacheApi, 'recordApiToken' | 'listApiTokens' | 'revokeApiToken'> & { where: string; close(): Promise<void> };

export async function openTokenStore(
  config: Pick<VallumConfig, 'redisUrl' | 'cacheServiceUrl' | 'sharedSecret' | 'tokenEncryptionSecret'> &
    Partial<Pick<VallumConfig, 'previousTokenEncryptionSecrets'>>,
): Promise<TokenStore | undefined> {
  if (config.redisUrl) {
    const { createRedisStore } = await import('@vallum/cache');
    const store = createRedisStore(config.redisUrl, { tokenSecret: secretList(config.tokenEncryptionSecret, config.previousTokenEncryptionSecrets) });
    return Object.assign(store, { where: 'cache.redis_url' });
  }
  if (config.cacheServiceUrl) {
    const client = createHttpCacheClient({
      url: config.cacheServiceUrl.href,
      service: 'cache',
      signer: createServiceTokenSigner(config.sharedSecret, 'proxy'),
    });
    return Object.assign(client, { where: 'cache_service_url', close: async () => {} });
  }
  return undefined;
}

export const NO_STORE =
  'this config keeps its store in the memory of the running vallum (no cache.redis_url or cache_service_url): ' +
  'list and revoke through its admin API instead: GET or DELETE /.vallum/admin/v1/service-accounts/tokens[/JTI] on any route host, ' +
  'as an admin that admin_policy allows';
