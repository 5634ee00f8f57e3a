// The optional OTLP/HTTP span exporter (`tracing.otlp_endpoint`): OpenTelemetry's SDK and JSON exporter, imported
// only when tracing is configured, so a process without it loads none of it. Spans keep Vallum's own ids (the ones
// the upstream saw in traceparent): the SDK's id generator is handed each span's ids just before it starts it.
import type { TraceContext } from './trace-context.js';

export interface SpanRecord {
  name: string;
  kind: 'server' | 'client' | 'internal';
  trace: Pick<TraceContext, 'traceId' | 'spanId' | 'parentSpanId' | 'sampled'>;
  /** Milliseconds since the epoch. */
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number | boolean>;
  error: boolean;
}

export interface SpanExporter {
  /** Queues one finished span; batches go out in the background, failures are dropped (never thrown). */
  export(span: SpanRecord): void;
  /** Sends what is queued, then stops. */
  close(): Promise<void>;
}

export interface OtlpSpanExporterOptions {
  /** Base URL; spans go to `${endpoint}/v1/traces`. */
  endpoint: string;
  /** service.name of the spans' resource. */
  service: string;
}

export async function createOtlpSpanExporter(options: OtlpSpanExporterOptions): Promise<SpanExporter> {
  const [api, sdk, otlp, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  // Read by the id generator inside startSpan, which runs synchronously right after they are set.
  const next = { traceId: '', spanId: '' };
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': options.service }),
    sampler: new sdk.AlwaysOnSampler(),
    idGenerator: { generateTraceId: () => next.traceId, generateSpanId: () => next.spanId },
    spanProcessors: [new sdk.BatchSpanProcessor(new otlp.OTLPTraceExporter({ url: `${options.endpoint}/v1/traces` }))],
  });
  const tracer = provider.getTracer('vallum');
  const kinds = { server: api.SpanKind.SERVER, client: api.SpanKind.CLIENT, internal: api.SpanKind.INTERNAL };
  return {
    export(span) {
      const { trace } = span;
      next.traceId = trace.traceId;
      next.spanId = trace.spanId;
      const parent =
        trace.parentSpanId === undefined
          ? api.ROOT_CONTEXT
          : api.trace.setSpanContext(api.ROOT_CONTEXT, {
              traceId: trace.traceId,
              spanId: trace.parentSpanId,
              traceFlags: trace.sampled ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE,
              isRemote: true,
            });
      const started = tracer.startSpan(span.name, { kind: kinds[span.kind], startTime: span.startMs, attributes: span.attributes }, parent);
      if (span.error) started.setStatus({ code: api.SpanStatusCode.ERROR });
      started.end(span.endMs);
    },
    close: () => provider.shutdown(),
  };
}
