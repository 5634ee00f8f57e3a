// An upstream that records every request it gets and answers with what it saw, for proxy tests.
import type { IncomingHttpHeaders } from 'node:http';
import { startHttpUpstream } from './http-upstream.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface EchoUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const requests: RecordedRequest[] = [];
  const upstream = await startHttpUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const headers: IncomingHttpHeaders = { ...req.headers };
      requests.push({ method, url, headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = 200;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ method, url, headers }));
    });
  });
  return {
    url: upstream.url,
    port: upstream.port,
    requests,
    close: upstream.close,
  };
}
