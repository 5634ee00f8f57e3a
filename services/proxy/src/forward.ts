// Forwards one request to an upstream and streams both bodies, with backpressure, through undici connection pools.
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool, errors as undiciErrors } from 'undici';
import { VallumError, ErrorCodes } from '@vallum/errors';
import { downstreamResponseHeaders } from './director.js';

export interface Forwarder {
  forward(input: ForwardInput): Promise<void>;
  close(): Promise<void>;
}

export interface ForwardInput {
  upstream: URL;
  /** Path and query to request from the upstream. */
  path: string;
  req: IncomingMessage;
  res: ServerResponse;
  headers: Record<string, string | string[]>;
}

const HEADERS_TIMEOUT_MS = 30_000;
const BODY_TIMEOUT_MS = 300_000;

export function createForwarder(): Forwarder {
  const pools = new Map<string, Pool>();
  const poolFor = (origin: string): Pool => {
    let pool = pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: 128, headersTimeout: HEADERS_TIMEOUT_MS, bodyTimeout: BODY_TIMEOUT_MS, connectTimeout: 10_000 });
      pools.set(origin, pool);
    }
    return pool;
  };

  return {
    async forward({ upstream, path, req, res, headers }) {
      const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
      const abort = new AbortController();
      const onClose = () => {
        if (!res.writableFinished) abort.abort();
      };
      res.once('close', onClose);
      let upstreamRes;
      try {
        upstreamRes = await poolFor(upstream.origin).request({
          path,
          method: req.method as 'GET',
          headers,
          body: hasBody ? req : null,
          signal: abort.signal,
        });
      } catch (cause) {
        res.off('close', onClose);
        throw upstreamError(cause);
      }
      res.writeHead(upstreamRes.statusCode, downstreamResponseHeaders(upstreamRes.headers));
      try {
        await pipeline(upstreamRes.body, res);
      } catch {
        // Headers are gone already: the only honest signal left is to cut the connection.
        res.destroy();
      } finally {
        res.off('close', onClose);
      }
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.close()));
    },
  };
}

function upstreamError(cause: unknown): VallumError {
  if (cause instanceof undiciErrors.HeadersTimeoutError || cause instanceof undiciErrors.ConnectTimeoutError) {
    return new VallumError(ErrorCodes.UPSTREAM_TIMEOUT, 'The application did not answer in time.', { status: 504, cause });
  }
  return new VallumError(ErrorCodes.UPSTREAM_UNAVAILABLE, 'The application is not reachable right now.', { status: 502, cause });
}
