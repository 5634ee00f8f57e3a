// oidc-provider's outgoing requests (back-channel logout) on loopback: its default fetch refuses loopback
// addresses (SSRF protection, right for a real IdP), and Node does not resolve `*.localhost`. The demo IdP only
// ever runs beside Vallum on one machine, so it sends these requests to 127.0.0.1 with the URL's Host.
import { request } from 'node:http';
import type { LookupFunction } from 'node:net';

const toLoopback: LookupFunction = (_host, options, callback) => {
  if (options.all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

export async function loopbackFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const target = new URL(url);
  if (target.protocol !== 'http:') throw new Error(`the demo IdP only calls http URLs on this machine, not ${target.href}`);
  const headers = Object.fromEntries(new Headers(init.headers).entries());
  const body = init.body === undefined || init.body === null ? undefined : String(init.body);
  return new Promise<Response>((resolve, reject) => {
    const req = request(target, { method: init.method ?? 'GET', headers, lookup: toLoopback, signal: init.signal ?? undefined }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') responseHeaders.set(k, v);
        const status = res.statusCode ?? 502;
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
