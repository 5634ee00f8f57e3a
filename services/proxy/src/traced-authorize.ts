// With span export on, each asynchronous authorize call (over HTTP in split mode) is a client span, child of the
// request's server span: the authorize service gets the child as its parent in traceparent.
import type { AuthorizeApi } from '@vallum/service-client';
import { formatTraceparent, parseTraceparent, type SpanExporter, type TraceStarter } from '@vallum/telemetry';

const TIME_ORIGIN = performance.timeOrigin;

export function tracedAuthorize(inner: AuthorizeApi, traces: TraceStarter, spans: SpanExporter): AuthorizeApi {
  return {
    ...inner,
    async evaluate(input) {
      const parent = parseTraceparent(input.traceparent);
      if (!parent?.sampled) return inner.evaluate(input);
      const trace = { traceId: parent.traceId, spanId: traces.spanId(), parentSpanId: parent.parentId, sampled: true };
      const started = performance.now();
      let failed = false;
      try {
        return await inner.evaluate({ ...input, traceparent: formatTraceparent(trace) });
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        spans.export({
          name: 'authorize',
          kind: 'client',
          trace,
          startMs: TIME_ORIGIN + started,
          endMs: TIME_ORIGIN + performance.now(),
          attributes: { 'vallum.route': input.routeId },
          error: failed,
        });
      }
    },
  };
}
