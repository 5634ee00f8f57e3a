// Follows the cache service's /v1/events stream, reconnecting with back-off. While the stream is down a proxy
// falls back on its short in-process session TTL, so a missed event delays a revocation by seconds, not forever.
// node:http on its own connection (no pool): nothing is left open once the caller stops following.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ServiceEndpoint } from './call-service.js';

const MAX_BACKOFF_MS = 5_000;

export function followEvents(endpoint: ServiceEndpoint, listener: (sid: string) => void): () => void {
  let stopped = false;
  let current: { destroy(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let backoff = 100;

  const retry = () => {
    current = undefined;
    if (stopped) return;
    timer = setTimeout(connect, backoff);
    timer.unref();
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  };

  const connect = async () => {
    if (stopped) return;
    const url = new URL('/v1/events', endpoint.url);
    const token = await endpoint.signer.token(endpoint.service).catch(() => undefined);
    if (stopped || token === undefined) return void retry();
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return;
      }
      backoff = 100;
      res.setEncoding('utf8');
      let buffered = '';
      res.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          if (!line) continue;
          try {
            const event = JSON.parse(line) as { sid?: unknown };
            if (typeof event.sid === 'string') listener(event.sid);
          } catch {
            // a garbled line is skipped; the session TTL covers it
          }
        }
      });
    });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      retry();
    };
    req.on('close', finish);
    req.on('error', finish);
    req.end();
    current = req;
  };

  void connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    current?.destroy();
  };
}
