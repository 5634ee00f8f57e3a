// /.vallum/verify: Vallum as the auth server of another proxy. nginx `auth_request` (X-Original-URI/-Method;
// answers 2xx with identity headers, 401 with X-Vallum-Sign-In, or 403), Traefik `forwardAuth` and Caddy
// `forward_auth` (X-Forwarded-Method/-Proto/-Host/-Uri; a 302 to sign in). The forwarded headers name the request
// being checked, so they are honoured only from `forward_auth.trusted_proxies`; anyone else gets 403 (which nginx
// relays as a denial; a 400 would become its 500). A trusted proxy sets one family and passes the client's other
// headers on (nginx forwards them to the auth subrequest), so a request that mixes the families, repeats a field or
// names another host than its own is refused with 400 rather than read one way or the other.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientCertificateRequired, type VallumConfig } from '@vallum/config';
import { renderError } from '@vallum/server-kit';
import type { AccessCheck } from './access.js';
import { upstreamRequestHeaders } from './director.js';
import { matchTarget } from './match-target.js';
import type { RouteTable } from './route-table.js';
import { clientAddress, createTrustCheck } from './trusted-proxies.js';
import { requestCookie } from './request-cookie.js';

export const VERIFY_PATH = '/.vallum/verify';

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** The fields that name the checked request. */
const NAMING = new Set(['x-forwarded-uri', 'x-forwarded-host', 'x-forwarded-method', 'x-forwarded-proto', 'x-original-uri', 'x-original-method']);

/** Why the forwarded fields do not name one request, or undefined. */
export function ambiguousForwarding(req: { rawHeaders: readonly string[]; headers: Record<string, string | string[] | undefined> }): string | undefined {
  const seen = new Set<string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (!NAMING.has(name)) continue;
    if (seen.has(name)) return `${name} is sent more than once`;
    seen.add(name);
  }
  const nginx = seen.has('x-original-uri') || seen.has('x-original-method');
  const traefik = seen.has('x-forwarded-uri') || seen.has('x-forwarded-method');
  if (nginx && traefik) return 'both X-Original-* and X-Forwarded-Uri/-Method are sent: the proxy must set one family and drop the other';
  if (!seen.has('x-original-uri') && !seen.has('x-forwarded-uri')) return 'the proxy must name the checked request with X-Forwarded-Uri or X-Original-URI';
  const fwdHost = single(req.headers['x-forwarded-host']);
  if (nginx && fwdHost !== undefined && fwdHost.toLowerCase() !== String(req.headers.host ?? '').toLowerCase()) {
    return 'X-Forwarded-Host differs from Host with X-Original-URI: the checked host is ambiguous';
  }
  return undefined;
}

export function registerForwardAuth(app: FastifyInstance, deps: { config: VallumConfig; routes: RouteTable; access: AccessCheck }): void {
  const { config, routes, access } = deps;
  const trusted = createTrustCheck(config.forwardAuthTrustedProxies);

  const verify = async (req: FastifyRequest) => {
    if (!trusted(req.socket.remoteAddress)) return { status: 403, headers: {}, body: 'forward-auth answers only the proxies in forward_auth.trusted_proxies' };
    const ambiguous = ambiguousForwarding(req.raw);
    if (ambiguous !== undefined) return { status: 400, headers: {}, body: `forward-auth: ${ambiguous}` };
    const h = req.headers;
    const forwardedUri = single(h['x-forwarded-uri']);
    const nginx = forwardedUri === undefined;
    const host = (single(h['x-forwarded-host']) ?? h.host ?? '').toLowerCase();
    const rawUrl = forwardedUri ?? single(h['x-original-uri']) ?? '/';
    const method = (single(h['x-forwarded-method']) ?? single(h['x-original-method']) ?? 'GET').toUpperCase();
    if (!rawUrl.startsWith('/')) return { status: 400, headers: {}, body: 'the forwarded URI is not valid' };
    const m = matchTarget(routes, host, rawUrl);
    if (m.kind === 'refuse') return m.status === 404 ? { status: 403, headers: {}, body: m.message } : { status: 400, headers: {}, body: m.message };
    const { route, path, otherPaths } = m;
    // The client's certificate went to the fronting proxy, not to Vallum: a route that requires one fails closed here.
    if (clientCertificateRequired(route, config.downstreamMtls)) {
      return { status: 403, headers: {}, body: 'this route requires a client certificate, which forward-auth cannot see' };
    }
    const result = await access.check({
      route,
      host,
      method,
      path,
      otherPaths,
      rawUrl,
      cookie: requestCookie(req.headers.cookie, config.cookieName),
      authorization: h.authorization,
      // The checked request's headers and client, as the fronting (trusted) proxy passes them on, so header and
      // source_ip rules hold here as they do on Vallum's own routes.
      headers: h,
      clientIp: clientAddress(req.socket.remoteAddress, h['x-forwarded-for'], trusted),
      trustedPeer: true,
      requestId: req.id,
    });
    switch (result.kind) {
      case 'forward': {
        if (!result.identity) return { status: 200, headers: {}, body: '' };
        const all = upstreamRequestHeaders({
          headers: {},
          cookieName: config.cookieName,
          clientIp: undefined,
          proto: 'http',
          host,
          requestId: req.id,
          identity: result.identity,
        });
        const identity = Object.fromEntries(Object.entries(all).filter(([name]) => !name.startsWith('x-forwarded-') && name !== 'x-request-id'));
        return { status: 200, headers: identity, body: '' };
      }
      case 'sign-in':
        return nginx
          ? { status: 401, headers: { 'x-vallum-sign-in': result.location }, body: 'sign-in required' }
          : { status: 302, headers: { location: result.location }, body: '' };
      case 'deny':
        return { status: 403, headers: {}, body: 'access denied' };
      case 'respond':
        return renderError(result.error, { requestId: req.id, format: 'json' });
    }
  };

  app.all(VERIFY_PATH, async (req, reply) => {
    const { status, headers, body } = await verify(req);
    return reply
      .status(status)
      .headers({ 'cache-control': 'no-store', 'content-type': 'text/plain; charset=utf-8', ...headers })
      .send(body);
  });
}
