import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Decision } from '@vallum/policy';
import type { AuthorizeRequest } from '@vallum/service-client';
import { createTraceStarter, parseTraceparent, type SpanRecord } from '@vallum/telemetry';
import { tracedAuthorize } from './traced-authorize.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SERVER_SPAN = '00f067aa0ba902b7';
const request = { routeId: 'app', identity: null, request: { method: 'GET', host: 'h', path: '/' } };

function setup(fails = false) {
  const seen: AuthorizeRequest[] = [];
  const exported: SpanRecord[] = [];
  const api = tracedAuthorize(
    {
      evaluate: async (input) => {
        seen.push(input);
        if (fails) throw new Error('authorize is down');
        return { allow: true, reasons: [] } as Decision;
      },
    },
    createTraceStarter({ sampleRatio: 1 }),
    { export: (span) => void exported.push(span), close: async () => {} },
  );
  return { api, seen, exported };
}

test("a sampled request's authorize call is a client span, child of its server span, and the parent authorize sees", async () => {
  const { api, seen, exported } = setup();
  await api.evaluate({ ...request, traceparent: `00-${TRACE}-${SERVER_SPAN}-01` });
  assert.equal(exported.length, 1);
  const span = exported[0]!;
  assert.equal(span.kind, 'client');
  assert.equal(span.trace.traceId, TRACE);
  assert.equal(span.trace.parentSpanId, SERVER_SPAN);
  assert.deepEqual(parseTraceparent(seen[0]!.traceparent), { traceId: TRACE, parentId: span.trace.spanId, sampled: true });
  assert.ok(span.endMs >= span.startMs);
  assert.equal(span.error, false);
});

test('an unsampled request makes no span, and a failed call is a span with an error', async () => {
  const quiet = setup();
  await quiet.api.evaluate({ ...request, traceparent: `00-${TRACE}-${SERVER_SPAN}-00` });
  assert.equal(quiet.exported.length, 0);
  assert.equal(quiet.seen[0]!.traceparent, `00-${TRACE}-${SERVER_SPAN}-00`);
  const failing = setup(true);
  await assert.rejects(failing.api.evaluate({ ...request, traceparent: `00-${TRACE}-${SERVER_SPAN}-01` }), /authorize is down/);
  assert.equal(failing.exported[0]!.error, true);
});
