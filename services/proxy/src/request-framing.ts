// Request framing Node's parser lets through but a proxy must refuse (RFC 9112 §3.2): more than one Host header
// (Node keeps the first and drops the rest, a server behind or beside Vallum may keep another), and an absolute-form
// target (`GET http://host/x`) whose authority is not the Host header. Runs before route matching. On HTTP/2 (RFC
// 9113 §8.3.1), `:authority` and Host must agree when both are sent, and `:authority` stands in for a missing Host.
// nghttp2 itself refuses (with a stream reset) connection-specific fields, `te` other than `trailers`, and missing,
// repeated, unknown or misplaced pseudo-headers (§8.2.2, §8.3): those never reach the handler.
import type { IncomingMessage } from 'node:http';

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/is;

/**
 * Why the request's framing is refused (a sentence for the client), or undefined. An absolute-form target that
 * agrees with Host is rewritten to origin form in `req.url`, so routing and the upstream see the usual `/path?query`.
 */
export function framingProblem(req: IncomingMessage): string | undefined {
  if (req.httpVersionMajor === 2) return h2FramingProblem(req);
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && (name.charCodeAt(0) | 32) === 104 && name.toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) return 'The request has more than one Host header.';
  const url = req.url ?? '/';
  // Origin form (`/path`) and `*` are what nearly every request uses; nothing more to check.
  if (url.charCodeAt(0) === 47 || url === '*') return undefined;
  const m = ABSOLUTE_FORM.exec(url);
  if (!m) return undefined;
  const authority = m[1]!;
  if (authority === '' || authority.includes('@')) return 'The request target names no valid host.';
  if (hosts === 0 || authority.toLowerCase() !== (req.headers.host ?? '').toLowerCase()) {
    return 'The host in the request target does not match the Host header.';
  }
  const rest = m[2]!;
  req.url = rest === '' ? '/' : rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
  return undefined;
}

/** HTTP/2: one Host at most, agreeing with `:authority`, which becomes Host when none was sent; no CONNECT. */
function h2FramingProblem(req: IncomingMessage): string | undefined {
  const h = req.headers;
  const authority = h[':authority'];
  if (typeof authority === 'string') {
    if (h.host === undefined) h.host = authority;
    else if (h.host.toLowerCase() !== authority.toLowerCase()) return 'The :authority of the request does not match its Host header.';
  }
  let hosts = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i] === 'host') hosts++;
  if (hosts > 1) return 'The request has more than one Host header.';
  if (req.method === 'CONNECT') return 'CONNECT is not supported over HTTP/2.';
  return undefined;
}

/** The request carries a body: a length or chunked framing on HTTP/1.1, a stream not ended with its headers on HTTP/2. */
export function hasRequestBody(req: IncomingMessage): boolean {
  if (req.httpVersionMajor === 2) return (req as IncomingMessage & { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
  return req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
}

/** The body's length is not declared up front (chunked on HTTP/1.1, no content-length on HTTP/2): it must be counted. */
export function bodyOfUnknownLength(req: IncomingMessage): boolean {
  return req.headers['content-length'] === undefined && (req.httpVersionMajor === 2 ? hasRequestBody(req) : req.headers['transfer-encoding'] !== undefined);
}
