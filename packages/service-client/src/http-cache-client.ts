import type { Session } from '@vallum/session';
import type { CacheApi } from './apis.js';
import { callService, type ServiceEndpoint } from './call-service.js';

export function createHttpCacheClient(endpoint: ServiceEndpoint): CacheApi {
  const id = (value: string) => encodeURIComponent(value);
  return {
    async getSession(sessionId) {
      return (await callService<Session>(endpoint, { method: 'GET', path: `/v1/sessions/${id(sessionId)}` })) ?? null;
    },
    async putSession(session) {
      await callService(endpoint, { method: 'PUT', path: `/v1/sessions/${id(session.id)}`, body: session });
    },
    async deleteSession(sessionId) {
      await callService(endpoint, { method: 'DELETE', path: `/v1/sessions/${id(sessionId)}` });
    },
    async claimOnce(key, ttlSeconds) {
      const res = await callService<{ claimed: boolean }>(endpoint, {
        method: 'POST',
        path: `/v1/once/${id(key)}`,
        body: { ttl_seconds: ttlSeconds },
      });
      return res?.claimed === true;
    },
  };
}
