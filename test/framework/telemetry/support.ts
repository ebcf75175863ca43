// An OpenTelemetry SDK in memory for telemetry tests: spans in an
// InMemorySpanExporter, metrics collected on demand.
import {
  ROOT_CONTEXT,
  SpanKind,
  propagation,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';

class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface MemorySdk {
  exporter: InMemorySpanExporter;
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
  spans(): ReadableSpan[];
  /** Collects the metrics, for points(). */
  refresh(): Promise<void>;
  /** Data points of a metric, by name, as of the last refresh(). */
  points(name: string): DataPoint<number | Histogram>[];
}

/** A tracer provider (global too, with the W3C propagator, when `global`) and a meter provider. */
export function memorySdk(options: { sampler?: Sampler; global?: boolean } = {}): MemorySdk {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    ...(options.sampler ? { sampler: options.sampler } : {}),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  if (options.global) tracerProvider.register();
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  let collected: Awaited<ReturnType<MetricReader['collect']>> | undefined;
  return {
    exporter,
    tracerProvider,
    meterProvider,
    spans: () => exporter.getFinishedSpans(),
    points: (name) => {
      const metrics = collected?.resourceMetrics.scopeMetrics.flatMap((s) => s.metrics) ?? [];
      return (metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? []) as DataPoint<
        number | Histogram
      >[];
    },
    refresh: async () => void (collected = await reader.collect()),
  };
}

/** What a first producer (outside streamtx) does: a PRODUCER span and its context in the headers. */
export function produceWithTrace(topic: string): { span: Span; headers: Record<string, string> } {
  const span = trace
    .getTracer('first-producer')
    .startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER });
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), headers);
  span.end();
  return { span, headers };
}

export function byName(spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((s) => s.name === name);
}

export function one(
  spans: ReadableSpan[],
  name: string,
  attributes: Attributes = {},
): ReadableSpan {
  const found = byName(spans, name).filter((s) =>
    Object.entries(attributes).every(([k, v]) => s.attributes[k] === v),
  );
  if (found.length !== 1)
    throw new Error(
      `expected one span "${name}" ${JSON.stringify(attributes)}, found ${found.length}: ${spans.map((s) => s.name).join(', ')}`,
    );
  return found[0]!;
}

export function traceIdOf(traceparent: string | Buffer | undefined): string | undefined {
  return traceparent?.toString().split('-')[1];
}
