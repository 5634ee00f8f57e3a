import type { ApiTokenRecord, Session } from '@vallum/session';
import type { CacheApi } from './apis.js';
import { callService, pingService, type ServiceEndpoint } from './call-service.js';
import { followEvents } from './follow-events.js';

export function createHttpCacheClient(endpoint: ServiceEndpoint): CacheApi {
  const id = (value: string) => encodeURIComponent(value);
  const flag = async (path: string, body: unknown, key: string) => {
    const res = await callService<Record<string, unknown>>(endpoint, { method: 'POST', path, body });
    return res?.[key] === true;
  };
  return {
    ping: () => pingService(endpoint),
    async getSession(sessionId) {
      return (await callService<Session>(endpoint, { method: 'GET', path: `/v1/sessions/${id(sessionId)}` })) ?? null;
    },
    async putSession(session) {
      await callService(endpoint, { method: 'PUT', path: `/v1/sessions/${id(session.id)}`, body: session });
    },
    async updateSession(session) {
      return flag(`/v1/sessions/${id(session.id)}/update`, session, 'updated');
    },
    async touchSession(sessionId) {
      return flag(`/v1/sessions/${id(sessionId)}/touch`, {}, 'touched');
    },
    async deleteSession(sessionId) {
      await callService(endpoint, { method: 'DELETE', path: `/v1/sessions/${id(sessionId)}` });
    },
    async endSession(sessionId, keepSeconds) {
      await callService(endpoint, { method: 'POST', path: `/v1/sessions/${id(sessionId)}/end`, body: { keep_seconds: keepSeconds } });
    },
    async takeEndedIdToken(sessionId) {
      const res = await callService<{ idToken?: unknown }>(endpoint, { method: 'POST', path: `/v1/ended-sessions/${id(sessionId)}/take`, body: {} });
      return typeof res?.idToken === 'string' ? res.idToken : null;
    },
    async findSessions(query) {
      const path =
        query.sub === undefined
          ? `/v1/idp-sessions/${id(query.idpSid!)}/sessions`
          : `/v1/users/${id(query.sub)}/sessions${query.idpSid === undefined ? '' : `?idp_sid=${id(query.idpSid)}`}`;
      const res = await callService<{ sessions: Session[] }>(endpoint, { method: 'GET', path });
      return res?.sessions ?? [];
    },
    subscribe(listener) {
      return followEvents(endpoint, listener);
    },
    async claimOnce(key, ttlSeconds) {
      return flag(`/v1/once/${id(key)}`, { ttl_seconds: ttlSeconds }, 'claimed');
    },
    async putOneTimeValue(key, value, ttlSeconds) {
      await callService(endpoint, { method: 'PUT', path: `/v1/values/${id(key)}`, body: { value, ttl_seconds: ttlSeconds } });
    },
    async takeOneTimeValue(key) {
      return (await callService<{ value: string | null }>(endpoint, { method: 'POST', path: `/v1/values/${id(key)}/take` }))?.value ?? null;
    },
    async recordApiToken(record) {
      await callService(endpoint, { method: 'PUT', path: `/v1/api-tokens/${id(record.jti)}`, body: record });
    },
    async listApiTokens() {
      return (await callService<{ tokens: ApiTokenRecord[] }>(endpoint, { method: 'GET', path: '/v1/api-tokens' }))?.tokens ?? [];
    },
    async revokeApiToken(jti, until) {
      await callService(endpoint, { method: 'POST', path: `/v1/api-tokens/${id(jti)}/revoke`, body: { until } });
    },
    async isApiTokenRevoked(jti) {
      const res = await callService<{ revoked: boolean }>(endpoint, { method: 'GET', path: `/v1/api-tokens/${id(jti)}/revoked` });
      return res?.revoked === true;
    },
  };
}
