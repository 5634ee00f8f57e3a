import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, isServiceCall, traceOf } from './index.js';

const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test("a service call's traceparent is continued; a call without a service credential starts its own trace", async () => {
  const app = createServer({ service: 'authorize', logLevel: 'silent', trustTrace: isServiceCall });
  app.get('/trace', async (req) => ({ traceId: traceOf(req)?.traceId, parent: traceOf(req)?.parentSpanId }));
  const continued = (await app.inject({ url: '/trace', headers: { authorization: 'Bearer service-token', traceparent: CALLER } })).json();
  assert.deepEqual(continued, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parent: '00f067aa0ba902b7' });
  const fresh = (await app.inject({ url: '/trace', headers: { traceparent: CALLER } })).json() as { traceId: string; parent?: string };
  assert.match(fresh.traceId, /^[0-9a-f]{32}$/);
  assert.notEqual(fresh.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(fresh.parent, undefined);
  await app.close();
});

test('by default no caller is believed about its trace', async () => {
  const app = createServer({ service: 'authenticate', logLevel: 'silent' });
  app.get('/trace', async (req) => ({ traceId: traceOf(req)?.traceId }));
  const res = (await app.inject({ url: '/trace', headers: { authorization: 'Bearer x', traceparent: CALLER } })).json() as { traceId: string };
  assert.notEqual(res.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  await app.close();
});
