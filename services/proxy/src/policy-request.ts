// The request facts a policy may look at beyond method, host and path: headers (for `header/<name>`) and the
// client address (for `source_ip`). Credentials never leave the proxy, and the set is bounded. Forwarding headers
// (X-Forwarded-*, Forwarded, X-Real-IP…) are facts only when a trusted proxy sent them.
import type { IncomingHttpHeaders } from 'node:http';
import { WITHHELD_HEADERS } from '@vallum/policy';
import { isForwardingField } from './director.js';

const MAX_HEADERS = 64;
const MAX_VALUE = 4096;

export function policyHeaders(headers: IncomingHttpHeaders, trustedPeer = false): Record<string, string> {
  const out: Record<string, string> = {};
  let count = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || WITHHELD_HEADERS.includes(name)) continue;
    if (isForwardingField(name) && (!trustedPeer || name.includes('_'))) continue;
    if (++count > MAX_HEADERS) break;
    const joined = Array.isArray(value) ? value.join(', ') : value;
    out[name] = joined.length > MAX_VALUE ? joined.slice(0, MAX_VALUE) : joined;
  }
  return out;
}
