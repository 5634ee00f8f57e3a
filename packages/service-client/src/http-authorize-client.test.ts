import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServiceTokenSigner } from '@vallum/service-auth';
import { createHttpAuthorizeClient } from './index.js';

test("the proxy's traceparent goes to the authorize service as a header, not in the body", async () => {
  let seen: { headers: IncomingHttpHeaders; body: Record<string, unknown> } | undefined;
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      seen = { headers: req.headers, body: JSON.parse(text) as Record<string, unknown> };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ allow: true, reasons: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = createHttpAuthorizeClient({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      service: 'authorize',
      signer: createServiceTokenSigner('s'.repeat(32), 'proxy'),
    });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const decision = await client.evaluate({ routeId: 'r', identity: null, request: { method: 'GET', host: 'h', path: '/' }, requestId: 'q', traceparent });
    assert.equal(decision.allow, true);
    assert.equal(seen!.headers.traceparent, traceparent);
    assert.equal('traceparent' in seen!.body, false);
    assert.equal(seen!.body.requestId, 'q');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
