// OIDC Back-Channel Logout 1.0: the IdP POSTs a signed logout token; every Vallum session of that user (or of that
// IdP session) is deleted, and the deletion reaches every proxy through the cache's change events. With several
// IdPs, the token's issuer and audience pick the IdP; it is verified against that IdP's keys, and only sessions that
// IdP made are ended (the same `sub` at another IdP is another user).
import type { FastifyInstance } from 'fastify';
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import { sessionIdp, type IdpConfig, type VallumConfig } from '@vallum/config';
import type { CacheApi } from '@vallum/service-client';
import { noteAccess } from '@vallum/server-kit';
import { ASYMMETRIC_JWT_ALGORITHMS } from '@vallum/session';
import { clientOf, type IdpClients } from '@vallum/idp';
import type { VallumMetrics } from '@vallum/telemetry';

export const BACKCHANNEL_LOGOUT_PATH = '/.vallum/backchannel_logout';
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Asymmetric algorithms only: a logout token is never accepted with `none` or an HMAC keyed by a public key. */
export const ASYMMETRIC_ALGORITHMS = ASYMMETRIC_JWT_ALGORITHMS;
const MAX_AGE_SECONDS = 300;

export function registerBackchannelLogout(
  app: FastifyInstance,
  deps: { config: VallumConfig; cache: CacheApi; idps: IdpClients; metrics?: VallumMetrics | undefined },
): void {
  const { config, cache, idps } = deps;
  /** Each IdP's keys, by IdP name. */
  const jwksByIdp = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  void app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16_384 }, (_req, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.post<{ Body: Record<string, string> | undefined }>(BACKCHANNEL_LOGOUT_PATH, async (req, reply) => {
      reply.header('cache-control', 'no-store');
      const token = req.body?.logout_token;
      if (typeof token !== 'string' || !token) return reply.status(400).send({ error: 'invalid_request', error_description: 'logout_token is required' });
      let payload: JWTPayload;
      let idpConfig: IdpConfig;
      try {
        idpConfig = logoutTokenIdp(config, token);
        const configuration = await clientOf(idps, idpConfig.name).configuration();
        const metadata = configuration.serverMetadata();
        if (!metadata.jwks_uri) throw new Error('the IdP publishes no jwks_uri');
        let jwks = jwksByIdp.get(idpConfig.name);
        if (!jwks) jwksByIdp.set(idpConfig.name, (jwks = createRemoteJWKSet(new URL(metadata.jwks_uri))));
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: metadata.issuer,
          audience: idpConfig.clientId,
          algorithms: [...ASYMMETRIC_ALGORITHMS],
          requiredClaims: ['iat', 'jti'],
          maxTokenAge: MAX_AGE_SECONDS,
        }));
        checkLogoutClaims(payload);
      } catch (err) {
        req.log.warn({ err }, 'back-channel logout token refused');
        return reply.status(400).send({ error: 'invalid_request', error_description: 'the logout token is not valid' });
      }
      if (!(await cache.claimOnce(`logout:${String(payload.jti)}`, MAX_AGE_SECONDS * 2))) {
        return reply.status(400).send({ error: 'invalid_request', error_description: 'the logout token was already used' });
      }
      const sub = typeof payload.sub === 'string' && payload.sub ? payload.sub : undefined;
      const idpSid = typeof payload.sid === 'string' && payload.sid ? payload.sid : undefined;
      const found = await cache.findSessions(sub === undefined ? { idpSid: idpSid! } : { sub, idpSid });
      const sessions = found.filter((session) => sessionIdp(session) === idpConfig.name);
      for (const session of sessions) await cache.deleteSession(session.id);
      noteAccess(req, { event: 'back-channel-logout', sessions_ended: sessions.length, idp: idpConfig.name });
      if (sessions.length > 0) deps.metrics?.signOuts.inc({ kind: 'backchannel' });
      return reply.status(200).send();
    });
  });
}

/**
 * The IdP whose logout token this says it is (issuer and audience, read before verifying): the token is then
 * verified against that IdP's keys, issuer and client id, so naming another IdP than the signer fails.
 */
export function logoutTokenIdp(config: Pick<VallumConfig, 'idps'>, token: string): IdpConfig {
  const { iss, aud } = decodeJwt(token);
  const audiences = typeof aud === 'string' ? [aud] : (aud ?? []);
  const idp = Object.values(config.idps).find((i) => sameIssuer(i.issuer, iss) && audiences.includes(i.clientId));
  if (!idp) throw new Error('the logout token is from no configured IdP');
  return idp;
}

function sameIssuer(configured: string, claimed: string | undefined): boolean {
  return claimed !== undefined && configured.replace(/\/$/, '') === claimed.replace(/\/$/, '');
}

/**
 * §2.4 and §2.6 of the spec: a `jti` to refuse replays by, an `events` object whose logout member is itself an
 * object, a subject, and never a nonce (so an ID token can't pass as a logout token).
 */
export function checkLogoutClaims(payload: JWTPayload): void {
  if (typeof payload.jti !== 'string' || payload.jti === '') throw new Error('the logout token has no jti');
  const events = payload.events;
  if (!events || typeof events !== 'object' || Array.isArray(events)) throw new Error('no back-channel logout event');
  const event = (events as Record<string, unknown>)[LOGOUT_EVENT];
  if (!event || typeof event !== 'object' || Array.isArray(event)) throw new Error('no back-channel logout event');
  if ('nonce' in payload) throw new Error('a logout token has no nonce');
  const sub = typeof payload.sub === 'string' && payload.sub !== '';
  const sid = typeof payload.sid === 'string' && payload.sid !== '';
  if (!sub && !sid) throw new Error('the logout token names neither sub nor sid');
}
