// How Vallum connects to an upstream outside undici's pools (WebSocket upgrades, requests carrying trailers), and the
// TLS settings every upstream connection shares, pools included: one place for the route's CA, verification, client
// certificate and server name.
import { request as httpRequest, type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { UpstreamTlsConfig } from '@vallum/config';

/** The URL's host name without IPv6 brackets, as sockets take it. */
export function hostnameOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** TLS options for a connection to `url` (none for http): the server name is sent for host names only, never an IP. */
export function upstreamTlsOptions(tls: UpstreamTlsConfig, url: URL) {
  if (url.protocol !== 'https:') return {};
  const host = hostnameOf(url);
  return { ca: tls.ca, rejectUnauthorized: !tls.skipVerify, cert: tls.cert, key: tls.key, ...(isIP(host) ? {} : { servername: host }) };
}

export interface UpstreamRequestOptions {
  method: string;
  path: string;
  headers: OutgoingHttpHeaders | string[];
  tls: UpstreamTlsConfig;
  /** Socket idle timeout until the caller changes it: the route's connect timeout. */
  connectTimeoutMs: number;
  /** Resolves a named upstream (cached for upstream_dns_ttl). */
  lookup?: LookupFunction;
  /** A connection of its own, closed after the exchange. */
  ownConnection?: boolean;
}

export function requestUpstream(origin: URL, o: UpstreamRequestOptions): ClientRequest {
  const https = origin.protocol === 'https:';
  return (https ? httpsRequest : httpRequest)({
    host: hostnameOf(origin),
    port: origin.port || (https ? 443 : 80),
    method: o.method,
    path: o.path,
    headers: o.headers,
    timeout: o.connectTimeoutMs,
    ...(o.ownConnection ? { agent: false } : {}),
    ...(o.lookup ? { lookup: o.lookup } : {}),
    ...upstreamTlsOptions(o.tls, origin),
  });
}
