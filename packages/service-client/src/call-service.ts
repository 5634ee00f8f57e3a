// One authenticated JSON call from one Vallum service to another over HTTP, with a deadline.
import { VallumError, ErrorCodes } from '@vallum/errors';
import type { ServiceTokenSigner } from '@vallum/service-auth';

export interface ServiceEndpoint {
  /** Base URL of the service, e.g. http://authorize:5080 */
  url: string;
  /** The service's name, the audience of the token. */
  service: string;
  signer: ServiceTokenSigner;
  timeoutMs?: number;
}

export interface CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  /** W3C traceparent of the request this call is made for. */
  traceparent?: string | undefined;
  /** A 404 means the service lacks the path (a wrong URL, an older build), not an absent resource: an error. */
  mustExist?: boolean;
}

/** Returns the parsed JSON body, or undefined on 404; throws VallumError SERVICE_UNAVAILABLE / SERVICE_BAD_RESPONSE. */
export async function callService<T>(endpoint: ServiceEndpoint, call: CallOptions): Promise<T | undefined> {
  const headers: Record<string, string> = { authorization: `Bearer ${await endpoint.signer.token(endpoint.service)}` };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  if (call.traceparent !== undefined) headers.traceparent = call.traceparent;
  let res: Response;
  try {
    res = await fetch(new URL(call.path, endpoint.url), {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: AbortSignal.timeout(endpoint.timeoutMs ?? 5000),
    });
  } catch (cause) {
    throw new VallumError(ErrorCodes.SERVICE_UNAVAILABLE, `${endpoint.service} service unavailable`, { status: 503, cause });
  }
  if (res.status === 404 && !call.mustExist) {
    await res.body?.cancel();
    return undefined;
  }
  if (res.status === 204) return undefined;
  const text = await res.text();
  // The service is up but what it needs (Redis, the IdP) is not: as temporary for the caller as the service down.
  if (res.status === 503) {
    throw new VallumError(ErrorCodes.SERVICE_UNAVAILABLE, `${endpoint.service} service unavailable`, { status: 503, details: { body: text.slice(0, 500) } });
  }
  if (!res.ok) {
    throw new VallumError(ErrorCodes.SERVICE_BAD_RESPONSE, `${endpoint.service} service answered ${res.status}`, {
      status: res.status === 401 ? 500 : 502,
      expose: false,
      details: { body: text.slice(0, 500) },
    });
  }
  return text ? (JSON.parse(text) as T) : undefined;
}

/** How long a peer's readiness may take to answer a ping. */
const PING_TIMEOUT_MS = 1000;

/** Resolves when the peer service answers its /readyz with 200; throws SERVICE_UNAVAILABLE / SERVICE_BAD_RESPONSE. */
export async function pingService(endpoint: ServiceEndpoint): Promise<void> {
  await callService(
    { ...endpoint, timeoutMs: Math.min(endpoint.timeoutMs ?? PING_TIMEOUT_MS, PING_TIMEOUT_MS) },
    { method: 'GET', path: '/readyz', mustExist: true },
  );
}
