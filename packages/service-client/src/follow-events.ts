// Follows the cache service's /v1/events stream, reconnecting with back-off. While the stream is down a proxy
// falls back on its short in-process session TTL, so a missed event delays a revocation by seconds, not forever.
import type { ServiceEndpoint } from './call-service.js';

const MAX_BACKOFF_MS = 5_000;

export function followEvents(endpoint: ServiceEndpoint, listener: (sid: string) => void): () => void {
  const stop = new AbortController();
  void (async () => {
    let backoff = 100;
    while (!stop.signal.aborted) {
      try {
        const res = await fetch(new URL('/v1/events', endpoint.url), {
          headers: { authorization: `Bearer ${await endpoint.signer.token(endpoint.service)}` },
          signal: stop.signal,
        });
        if (!res.ok || !res.body) throw new Error(`events answered ${res.status}`);
        backoff = 100;
        let buffered = '';
        for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
          buffered += chunk;
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) {
            if (!line) continue;
            const event = JSON.parse(line) as { sid?: unknown };
            if (typeof event.sid === 'string') listener(event.sid);
          }
        }
      } catch {
        // reconnect below
      }
      if (stop.signal.aborted) return;
      await new Promise((r) => setTimeout(r, backoff).unref());
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  })();
  return () => stop.abort();
}
