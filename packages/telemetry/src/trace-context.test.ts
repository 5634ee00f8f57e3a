import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTraceStarter, formatTraceparent, parseTraceparent } from './index.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

test('a valid traceparent is read: trace id, parent id, sampled flag', () => {
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, parentId: SPAN, sampled: true });
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-00`), { traceId: TRACE, parentId: SPAN, sampled: false });
  // Other flag bits are unknown, not invalid.
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-03`)?.sampled, true);
});

test('invalid traceparents are refused: version ff, bad lengths, all-zero ids, upper case, non-hex, wrong separators', () => {
  for (const bad of [
    `ff-${TRACE}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-01-extra`,
    `00-${TRACE}-${SPAN}-1`,
    `00-${'0'.repeat(32)}-${SPAN}-01`,
    `00-${TRACE}-${'0'.repeat(16)}-01`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    `00-${TRACE}-${SPAN.toUpperCase()}-01`,
    `0A-${TRACE}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-0G`,
    `00_${TRACE}_${SPAN}_01`,
    `00-${TRACE.slice(1)}x-${SPAN}-01`,
    '',
  ]) {
    assert.equal(parseTraceparent(bad), undefined, bad);
  }
  assert.equal(parseTraceparent([`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-01`]), undefined, 'two headers');
  assert.equal(parseTraceparent(undefined), undefined);
});

test('a later version is read by its version-00 fields, and may carry more after a dash', () => {
  assert.equal(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-comes-next`)?.traceId, TRACE);
  assert.equal(parseTraceparent(`01-${TRACE}-${SPAN}-01`)?.parentId, SPAN);
  assert.equal(parseTraceparent(`01-${TRACE}-${SPAN}-01x`), undefined);
});

test('formatTraceparent writes version 00 and round-trips through parseTraceparent', () => {
  const header = formatTraceparent({ traceId: TRACE, spanId: SPAN, sampled: true });
  assert.equal(header, `00-${TRACE}-${SPAN}-01`);
  assert.deepEqual(parseTraceparent(header), { traceId: TRACE, parentId: SPAN, sampled: true });
  assert.equal(formatTraceparent({ traceId: TRACE, spanId: SPAN, sampled: false }).endsWith('-00'), true);
});

test('a trusted caller’s trace is continued with a new span of ours; an untrusted one starts a new trace', () => {
  const traces = createTraceStarter({ sampleRatio: 0 });
  const headers = { traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'vendor=1' };
  const continued = traces.start(headers, true);
  assert.equal(continued.traceId, TRACE);
  assert.equal(continued.parentSpanId, SPAN);
  assert.notEqual(continued.spanId, SPAN);
  assert.equal(continued.sampled, true, "the caller's sampled flag is kept");
  assert.equal(continued.tracestate, 'vendor=1');
  assert.equal(continued.traceparent, `00-${TRACE}-${continued.spanId}-01`);

  const fresh = traces.start(headers, false);
  assert.notEqual(fresh.traceId, TRACE);
  assert.match(fresh.traceId, /^[0-9a-f]{32}$/);
  assert.match(fresh.spanId, /^[0-9a-f]{16}$/);
  assert.equal(fresh.parentSpanId, undefined);
  assert.equal(fresh.tracestate, undefined, "an untrusted caller's tracestate is not passed on");
  assert.equal(fresh.sampled, false);
  assert.deepEqual(parseTraceparent(fresh.traceparent), { traceId: fresh.traceId, parentId: fresh.spanId, sampled: false });

  assert.notEqual(traces.start({ traceparent: 'garbage' }, true).traceId, undefined, 'an invalid one starts a new trace');
});

test('ids are unique across pool refills, and new traces are sampled at the configured ratio', () => {
  const traces = createTraceStarter({
    sampleRatio: 0.25,
    random: (() => {
      let i = 0;
      return () => (i++ % 4) / 4;
    })(),
  });
  const ids = new Set<string>();
  let sampled = 0;
  for (let i = 0; i < 1000; i++) {
    const t = traces.start({}, false);
    ids.add(t.traceId);
    ids.add(t.spanId);
    if (t.sampled) sampled++;
  }
  assert.equal(ids.size, 2000);
  assert.equal(sampled, 250);
  assert.equal(createTraceStarter({ sampleRatio: 1 }).start({}, false).sampled, true);
});

test('a new trace’s ids are the ones in its traceparent, with its sampled flag', () => {
  const sampled = createTraceStarter({ sampleRatio: 1 }).start({}, false);
  assert.equal(sampled.traceparent, `00-${sampled.traceId}-${sampled.spanId}-01`);
  assert.deepEqual(parseTraceparent(sampled.traceparent), { traceId: sampled.traceId, parentId: sampled.spanId, sampled: true });
  const plain = createTraceStarter({ sampleRatio: 0 }).start({}, false);
  assert.equal(plain.traceparent, `00-${plain.traceId}-${plain.spanId}-00`);
});

test('request ids are version 4 UUIDs, unique across pool refills', () => {
  const traces = createTraceStarter({ sampleRatio: 0 });
  const ids = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const id = traces.requestId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    ids.add(id);
    traces.start({}, false);
  }
  assert.equal(ids.size, 1000);
});
