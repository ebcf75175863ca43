/**
 * The OpenTelemetry adapter of the telemetry interface. It depends only on
 * `@opentelemetry/api`: the application registers an SDK (e.g.
 * `@opentelemetry/sdk-node`) and its exporters; without one, every call ends
 * in the API's no-op implementations and records nothing.
 *
 * Spans follow the OpenTelemetry messaging semantic conventions (Kafka): a
 * `process <topic>` CONSUMER span per record, a child of the producer's
 * context from the record's `traceparent` header and linked to it; a
 * `send <topic>` PRODUCER span per output record, a child of the process
 * span, whose context is injected into the output record's headers; a
 * `commit` span per transaction; `punctuate <node>` and `restore <store>`
 * spans. See docs/observability.md for the reference.
 *
 * @example
 * ```ts
 * import { NodeSDK } from '@opentelemetry/sdk-node';
 * import { StreamsApp } from 'streamtx';
 * import { openTelemetry } from 'streamtx/otel';
 *
 * new NodeSDK({ serviceName: 'orders-enricher' }).start();
 * const app = new StreamsApp(topology, { applicationId: 'enricher', brokers, telemetry: openTelemetry() });
 * ```
 */
import { isUtf8 } from 'node:buffer';
import {
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  createContextKey,
  createNoopMeter,
  isSpanContextValid,
  metrics,
  propagation,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type Link,
  type Meter,
  type MeterProvider,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
  type UpDownCounter,
} from '@opentelemetry/api';
import type { ConsumedRecord, Headers, ProducerRecord } from '../client/types.ts';
import type { PunctuationType } from '../processor.ts';
import type {
  CommitResult,
  CommitScope,
  Delivery,
  LagSample,
  StandbySample,
  OperationScope,
  RestoreScope,
  TaskTelemetry,
  TaskTelemetryInfo,
  Telemetry,
  TransactionOutcome,
} from '../telemetry.ts';

const SCOPE_NAME = 'streamtx';
const SCOPE_VERSION = '0.1.0';

export interface OpenTelemetryOptions {
  /** @default the global tracer provider (`trace.getTracerProvider()`), looked up on every span */
  tracerProvider?: TracerProvider;
  /** @default the global meter provider, looked up when the first task starts */
  meterProvider?: MeterProvider;
  /** Injects and extracts trace context in record headers. @default the global propagator (`propagation`) */
  propagator?: TextMapPropagator;
  /**
   * What a `process` span's parent is. `'producer'`: the context in the record's headers, so
   * one trace runs from the first producer through every app (the span also links to it, as
   * the semantic conventions ask). `'none'`: a new trace per record, linked to the producer.
   * @default 'producer'
   */
  processParent?: 'producer' | 'none';
  /**
   * Runs the runtime's producer calls with tracing suppressed, so a client instrumentation
   * (`@opentelemetry/instrumentation-kafkajs`) adds no second send span and does not overwrite
   * the `traceparent` header streamtx wrote. Its consumer spans are not affected: disable that
   * instrumentation for streamtx apps (docs/observability.md).
   * @default true
   */
  suppressClientInstrumentation?: boolean;
  /** @default true */
  traces?: boolean;
  /** @default true */
  metrics?: boolean;
}

/** Attribute names (OpenTelemetry messaging semantic conventions, plus streamtx's own). */
export const Attr = {
  system: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destination: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  offset: 'messaging.kafka.offset',
  key: 'messaging.kafka.message.key',
  tombstone: 'messaging.kafka.message.tombstone',
  consumerGroup: 'messaging.consumer.group.name',
  applicationId: 'streamtx.application.id',
  taskId: 'streamtx.task.id',
  outcome: 'streamtx.transaction.outcome',
  records: 'streamtx.commit.records',
  offsets: 'streamtx.commit.offsets',
  store: 'streamtx.store.name',
  restored: 'streamtx.restore.records',
  restoreTotal: 'streamtx.restore.total',
  node: 'streamtx.processor.name',
  punctuationType: 'streamtx.punctuation.type',
  punctuationTime: 'streamtx.punctuation.time',
} as const;

/** Metric names; Prometheus shows them with `_` for `.` (and `_total` on counters). */
export const Metric = {
  processRecords: 'streamtx.process.records',
  processDuration: 'streamtx.process.duration',
  commitDuration: 'streamtx.commit.duration',
  transactions: 'streamtx.transactions',
  rebalances: 'streamtx.rebalances',
  restoreRecords: 'streamtx.restore.records',
  restoreRemaining: 'streamtx.restore.remaining',
  consumerLag: 'streamtx.consumer.lag',
  sendErrors: 'streamtx.send.errors',
  droppedRecords: 'streamtx.dropped.records',
  standbyLag: 'streamtx.standby.lag',
  standbyRecords: 'streamtx.standby.records',
} as const;

// @opentelemetry/core's suppressTracing() key; createContextKey is Symbol.for(description), so
// the SDK sees the same key without this module depending on it.
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

const NOOP_METER_CLASS = createNoopMeter().constructor;

const SECONDS_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const headerGetter: TextMapGetter<ConsumedRecord['headers']> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value.map((v) => v.toString()) : value.toString();
  },
};

const headerSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => void (carrier[key] = value),
};

interface Instruments {
  processRecords: Counter;
  processDuration: Histogram;
  commitDuration: Histogram;
  transactions: Counter;
  rebalances: Counter;
  restoreRecords: Counter;
  restoreRemaining: UpDownCounter;
  sendErrors: Counter;
  droppedRecords: Counter;
  standbyRecords: Counter;
}

/** Telemetry that emits OpenTelemetry spans and metrics through `@opentelemetry/api`. */
export function openTelemetry(options: OpenTelemetryOptions = {}): Telemetry {
  return new OpenTelemetryAdapter(options);
}

class OpenTelemetryAdapter implements Telemetry {
  readonly processParent: 'producer' | 'none';
  readonly suppressClient: boolean;
  readonly tracesOn: boolean;
  readonly metricsOn: boolean;
  #tracer: Tracer | undefined;
  #instruments: Instruments | undefined;
  #meter: Meter | undefined;
  readonly #lagSources = new Map<
    object,
    { applicationId: string; sample: () => Promise<LagSample[]> }
  >();
  #lagObserved = false;
  readonly #standbySources = new Map<
    object,
    { applicationId: string; sample: () => StandbySample[] }
  >();
  #standbyObserved = false;

  constructor(private readonly options: OpenTelemetryOptions) {
    this.processParent = options.processParent ?? 'producer';
    this.suppressClient = options.suppressClientInstrumentation ?? true;
    this.tracesOn = options.traces ?? true;
    this.metricsOn = options.metrics ?? true;
  }

  get propagator(): TextMapPropagator {
    return this.options.propagator ?? propagation;
  }

  /**
   * The tracer, or undefined while no SDK is registered: a record then costs no span, no
   * header parsing and no injection.
   */
  tracer(): Tracer | undefined {
    if (!this.tracesOn) return undefined;
    if (this.#tracer) return this.#tracer;
    const provider = this.options.tracerProvider ?? trace.getTracerProvider();
    if (provider instanceof ProxyTracerProvider) {
      const delegate = provider.getDelegateTracer(SCOPE_NAME, SCOPE_VERSION);
      if (delegate) this.#tracer = delegate;
      return delegate;
    }
    this.#tracer = provider.getTracer(SCOPE_NAME, SCOPE_VERSION);
    return this.#tracer;
  }

  instruments(): Instruments | undefined {
    if (!this.metricsOn) return undefined;
    if (this.#instruments) return this.#instruments;
    const meter = (this.options.meterProvider ?? metrics.getMeterProvider()).getMeter(
      SCOPE_NAME,
      SCOPE_VERSION,
    );
    // No SDK registered (yet): record nothing rather than time records for a no-op; a later
    // task looks again. The metrics API has no proxy, so instruments bind to a real provider.
    if (meter.constructor === NOOP_METER_CLASS) return undefined;
    this.#meter = meter;
    const seconds = { unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS } };
    this.#instruments = {
      processRecords: meter.createCounter(Metric.processRecords, {
        description: 'Records processed, per task',
        unit: '{record}',
      }),
      processDuration: meter.createHistogram(Metric.processDuration, {
        description: 'Time to process one record (deserialize, processors, sinks)',
        ...seconds,
      }),
      commitDuration: meter.createHistogram(Metric.commitDuration, {
        description: 'Time from the first send of a commit to its acknowledgement',
        ...seconds,
      }),
      transactions: meter.createCounter(Metric.transactions, {
        description: 'Transactions ended, by outcome (committed, aborted, fenced)',
        unit: '{transaction}',
      }),
      rebalances: meter.createCounter(Metric.rebalances, {
        description: 'Consumer group rebalances this worker took part in',
        unit: '{rebalance}',
      }),
      restoreRecords: meter.createCounter(Metric.restoreRecords, {
        description: 'Changelog records replayed into stores',
        unit: '{record}',
      }),
      restoreRemaining: meter.createUpDownCounter(Metric.restoreRemaining, {
        description: 'Changelog records left to replay (an upper bound)',
        unit: '{record}',
      }),
      sendErrors: meter.createCounter(Metric.sendErrors, {
        description: 'Failed sends of output or changelog records',
        unit: '{error}',
      }),
      droppedRecords: meter.createCounter(Metric.droppedRecords, {
        description:
          'Records a processor dropped on purpose (e.g. later than a window grace period)',
        unit: '{record}',
      }),
      standbyRecords: meter.createCounter(Metric.standbyRecords, {
        description:
          'Changelog records standby tasks applied (their tail rate), per task and store',
        unit: '{record}',
      }),
    };
    if (this.#lagSources.size > 0) this.#observeLagGauge();
    if (this.#standbySources.size > 0) this.#observeStandbyGauge();
    return this.#instruments;
  }

  task(info: TaskTelemetryInfo): TaskTelemetry {
    return new OpenTelemetryTask(this, info, this.instruments());
  }

  rebalanced(applicationId: string): void {
    this.instruments()?.rebalances.add(1, { [Attr.applicationId]: applicationId });
  }

  observeLag(applicationId: string, sample: () => Promise<LagSample[]>): () => void {
    const key = {};
    this.#lagSources.set(key, { applicationId, sample });
    if (this.instruments()) this.#observeLagGauge();
    return () => void this.#lagSources.delete(key);
  }

  observeStandbys(applicationId: string, sample: () => StandbySample[]): () => void {
    const key = {};
    this.#standbySources.set(key, { applicationId, sample });
    if (this.instruments()) this.#observeStandbyGauge();
    return () => void this.#standbySources.delete(key);
  }

  standbyReplayed(applicationId: string, taskId: string, store: string, records: number): void {
    this.instruments()?.standbyRecords.add(records, {
      [Attr.applicationId]: applicationId,
      [Attr.taskId]: taskId,
      [Attr.store]: store,
    });
  }

  #observeStandbyGauge(): void {
    if (this.#standbyObserved || !this.#meter) return;
    this.#standbyObserved = true;
    const gauge = this.#meter.createObservableGauge(Metric.standbyLag, {
      description:
        'Changelog records a standby task lacks (changelog end at its last round minus its checkpoint), per task and store',
      unit: '{record}',
    });
    gauge.addCallback((result) => {
      for (const { applicationId, sample } of this.#standbySources.values())
        for (const { taskId, store, lag } of sample())
          result.observe(lag, {
            [Attr.applicationId]: applicationId,
            [Attr.taskId]: taskId,
            [Attr.store]: store,
          });
    });
  }

  #observeLagGauge(): void {
    if (this.#lagObserved || !this.#meter) return;
    this.#lagObserved = true;
    const gauge = this.#meter.createObservableGauge(Metric.consumerLag, {
      description: 'Records between the last stable offset and the committed offset, per partition',
      unit: '{record}',
    });
    gauge.addCallback(async (result) => {
      for (const { applicationId, sample } of this.#lagSources.values()) {
        let samples: LagSample[];
        try {
          samples = await sample();
        } catch {
          continue; // a broker that does not answer this scrape: no sample rather than a wrong one
        }
        for (const { topic, partition, lag } of samples)
          result.observe(lag, {
            [Attr.applicationId]: applicationId,
            [Attr.consumerGroup]: applicationId,
            [Attr.destination]: topic,
            [Attr.partition]: String(partition),
          });
      }
    });
  }
}

class OpenTelemetryTask implements TaskTelemetry {
  readonly attributes: Attributes;
  readonly spanAttributes: Attributes;

  constructor(
    readonly adapter: OpenTelemetryAdapter,
    readonly info: TaskTelemetryInfo,
    readonly instruments: Instruments | undefined,
  ) {
    this.attributes = { [Attr.applicationId]: info.applicationId, [Attr.taskId]: info.taskId };
    this.spanAttributes = {
      [Attr.system]: 'kafka',
      [Attr.consumerGroup]: info.groupId,
      ...this.attributes,
    };
  }

  process(record: ConsumedRecord): OperationScope | undefined {
    const tracer = this.adapter.tracer();
    if (!tracer && !this.instruments) return undefined;
    let span: Span | undefined;
    if (tracer) {
      const producer = this.adapter.propagator.extract(ROOT_CONTEXT, record.headers, headerGetter);
      const producerSpan = trace.getSpanContext(producer);
      const links: Link[] =
        producerSpan && isSpanContextValid(producerSpan) ? [{ context: producerSpan }] : [];
      const parent = this.adapter.processParent === 'producer' ? producer : context.active();
      span = tracer.startSpan(
        `process ${record.topic}`,
        { kind: SpanKind.CONSUMER, links },
        parent,
      );
      if (span.isRecording()) {
        span.setAttributes(this.spanAttributes);
        span.setAttributes({
          [Attr.operationName]: 'process',
          [Attr.operationType]: 'process',
          [Attr.destination]: record.topic,
          [Attr.partition]: String(record.partition),
          [Attr.offset]: Number(record.offset),
        });
        const key = keyString(record.key);
        if (key !== undefined) span.setAttribute(Attr.key, key);
        if (record.value === null) span.setAttribute(Attr.tombstone, true);
      } else {
        span = undefined;
      }
    }
    return new OperationSpan(this, span, 'process');
  }

  punctuate(node: string, type: PunctuationType, time: number): OperationScope | undefined {
    const tracer = this.adapter.tracer();
    if (!tracer) return undefined;
    const span = tracer.startSpan(`punctuate ${node}`, { kind: SpanKind.INTERNAL });
    if (!span.isRecording()) return undefined;
    span.setAttributes(this.spanAttributes);
    span.setAttributes({
      [Attr.node]: node,
      [Attr.punctuationType]: type,
      [Attr.punctuationTime]: time,
    });
    return new OperationSpan(this, span, 'punctuate');
  }

  commit(): CommitScope | undefined {
    const tracer = this.adapter.tracer();
    if (!tracer && !this.instruments) return undefined;
    const span = tracer?.startSpan('commit', { kind: SpanKind.INTERNAL });
    return new CommitSpan(this, span?.isRecording() ? span : undefined);
  }

  restore(store: string, topic: string, total: number): RestoreScope | undefined {
    const tracer = this.adapter.tracer();
    if (!tracer && !this.instruments) return undefined;
    const span = tracer?.startSpan(`restore ${store}`, { kind: SpanKind.INTERNAL });
    const recording = span?.isRecording() ? span : undefined;
    recording?.setAttributes(this.spanAttributes);
    recording?.setAttributes({
      [Attr.store]: store,
      [Attr.destination]: topic,
      [Attr.partition]: String(this.info.partition),
      [Attr.restoreTotal]: total,
    });
    return new RestoreSpan(this, recording, store, total);
  }

  sendFailed(topic: string, error: unknown): void {
    this.instruments?.sendErrors.add(1, {
      ...this.attributes,
      [Attr.destination]: topic,
      'error.type': errorType(error),
    });
  }

  dropped(node: string, reason: string): void {
    this.instruments?.droppedRecords.add(1, {
      ...this.attributes,
      'streamtx.processor': node,
      'streamtx.drop.reason': reason,
    });
  }

  sending<T>(send: () => Promise<T>): Promise<T> {
    if (!this.adapter.suppressClient) return send();
    return context.with(context.active().setValue(SUPPRESS_TRACING, true), send);
  }
}

class OperationSpan implements OperationScope {
  readonly #started = performance.now();

  constructor(
    private readonly task: OpenTelemetryTask,
    private readonly span: Span | undefined,
    private readonly kind: 'process' | 'punctuate',
  ) {}

  send(topic: string, record: ProducerRecord): Delivery | undefined {
    const tracer = this.span && this.task.adapter.tracer();
    if (!tracer || !this.span) return undefined;
    const parent = trace.setSpan(ROOT_CONTEXT, this.span);
    const span = tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER }, parent);
    if (!span.isRecording()) return undefined;
    span.setAttributes(this.task.spanAttributes);
    span.setAttributes({
      [Attr.operationName]: 'send',
      [Attr.operationType]: 'send',
      [Attr.destination]: topic,
    });
    if (record.partition !== undefined) span.setAttribute(Attr.partition, String(record.partition));
    const key = keyString(record.key);
    if (key !== undefined) span.setAttribute(Attr.key, key);
    record.headers ??= {};
    this.task.adapter.propagator.inject(trace.setSpan(parent, span), record.headers, headerSetter);
    return new DeliverySpan(span);
  }

  end(error?: unknown): void {
    if (this.kind === 'process' && this.task.instruments) {
      this.task.instruments.processRecords.add(1, this.task.attributes);
      this.task.instruments.processDuration.record(
        (performance.now() - this.#started) / 1000,
        this.task.attributes,
      );
    }
    if (!this.span) return;
    if (error !== undefined) failSpan(this.span, error);
    this.span.end();
  }
}

class DeliverySpan implements Delivery {
  constructor(private readonly span: Span) {}

  end(outcome: TransactionOutcome, error?: unknown): void {
    this.span.setAttribute(Attr.outcome, outcome);
    if (outcome !== 'committed')
      this.span.setStatus({
        code: SpanStatusCode.ERROR,
        message: `transaction ${outcome}${error === undefined ? '' : `: ${messageOf(error)}`}`,
      });
    this.span.end();
  }
}

class CommitSpan implements CommitScope {
  readonly #started = performance.now();

  constructor(
    private readonly task: OpenTelemetryTask,
    private readonly span: Span | undefined,
  ) {}

  end(result: CommitResult): void {
    const instruments = this.task.instruments;
    if (instruments) {
      const attributes = { ...this.task.attributes, [Attr.outcome]: result.outcome };
      instruments.transactions.add(1, attributes);
      instruments.commitDuration.record((performance.now() - this.#started) / 1000, attributes);
    }
    const span = this.span;
    if (!span) return;
    span.setAttributes(this.task.spanAttributes);
    span.setAttributes({
      [Attr.outcome]: result.outcome,
      [Attr.records]: result.records,
      [Attr.offsets]: result.offsets.map((o) => `${o.topic}-${o.partition}@${o.offset}`),
    });
    if (result.error !== undefined) failSpan(span, result.error);
    else if (result.outcome !== 'committed')
      span.setStatus({ code: SpanStatusCode.ERROR, message: `transaction ${result.outcome}` });
    span.end();
  }
}

class RestoreSpan implements RestoreScope {
  #reported = 0;
  #remaining: number;

  constructor(
    private readonly task: OpenTelemetryTask,
    private readonly span: Span | undefined,
    private readonly store: string,
    total: number,
  ) {
    this.#remaining = total;
    task.instruments?.restoreRemaining.add(total, this.#attributes());
  }

  #attributes(): Attributes {
    return { ...this.task.attributes, [Attr.store]: this.store };
  }

  progress(restored: number): void {
    const delta = restored - this.#reported;
    if (delta <= 0) return;
    this.#reported = restored;
    const instruments = this.task.instruments;
    if (instruments) {
      const attributes = this.#attributes();
      instruments.restoreRecords.add(delta, attributes);
      const down = Math.min(delta, this.#remaining);
      this.#remaining -= down;
      instruments.restoreRemaining.add(-down, attributes);
    }
  }

  end(restored: number, error?: unknown): void {
    this.progress(restored);
    if (this.#remaining > 0) {
      // The total is an upper bound (markers, compaction): nothing is left once replay ends.
      this.task.instruments?.restoreRemaining.add(-this.#remaining, this.#attributes());
      this.#remaining = 0;
    }
    if (!this.span) return;
    this.span.setAttribute(Attr.restored, restored);
    if (error !== undefined) failSpan(this.span, error);
    this.span.end();
  }
}

function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setAttribute('error.type', errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
}

function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The key as text when it is UTF-8 (the semantic conventions want a string representation). */
function keyString(key: Buffer | string | null | undefined): string | undefined {
  if (key === null || key === undefined) return undefined;
  if (typeof key === 'string') return key;
  return isUtf8(key) ? key.toString('utf8') : key.toString('base64');
}
