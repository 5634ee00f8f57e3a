// Request framing Node's parser lets through but a proxy must refuse (RFC 9112 §3.2): more than one Host header
// (Node keeps the first and drops the rest, a server behind or beside Vallum may keep another), and an absolute-form
// target (`GET http://host/x`) whose authority is not the Host header. Runs before route matching.
import type { IncomingMessage } from 'node:http';

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/is;

/**
 * Why the request's framing is refused (a sentence for the client), or undefined. An absolute-form target that
 * agrees with Host is rewritten to origin form in `req.url`, so routing and the upstream see the usual `/path?query`.
 */
export function framingProblem(req: IncomingMessage): string | undefined {
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
