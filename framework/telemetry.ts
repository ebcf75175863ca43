/**
 * The telemetry interface the runtime emits through (docs/observability.md).
 * The core never imports an OpenTelemetry SDK: it calls
 * these methods, and an adapter (framework/telemetry/otel.ts, on
 * `@opentelemetry/api` only) turns them into spans and metrics.
 *
 * Cost model: every per-record method may return `undefined`, meaning "not
 * recorded"; the runtime then skips all further work for that record. The
 * default, `noopTelemetry`, returns `undefined` everywhere, so an app without
 * telemetry pays one property read and one call per record.
 *
 * @example Enable OpenTelemetry for one app, or for every app and TopologyTestDriver in the process
 * ```ts
 * import { StreamsApp, setDefaultTelemetry } from 'streamtx/framework';
 * import { openTelemetry } from 'streamtx/otel';
 * const app = new StreamsApp(topology, { applicationId: 'a', brokers, telemetry: openTelemetry() });
 * setDefaultTelemetry(openTelemetry()); // apps built later without a `telemetry` option
 * ```
 */
import type { ConsumedRecord, ProducerRecord, TopicPartitionOffset } from './client/types.ts';
import type { PunctuationType } from './processor.ts';

/** How a Kafka transaction (or an at_least_once offset commit) ended. */
export type TransactionOutcome = 'committed' | 'aborted' | 'fenced';

export interface TaskTelemetryInfo {
  applicationId: string;
  /** The consumer group: the applicationId. */
  groupId: string;
  taskId: string;
  /** The partition number of the task's source topics. */
  partition: number;
}

export interface Telemetry {
  /** Instruments of one task; called once per StreamTask. */
  task(info: TaskTelemetryInfo): TaskTelemetry;
  /** The worker's group started a rebalance. */
  rebalanced(applicationId: string): void;
  /**
   * Registers a source of consumer lag for a worker; the adapter samples it when its metrics
   * are collected (e.g. on a Prometheus scrape). Returns an unregister function.
   */
  observeLag(applicationId: string, sample: () => Promise<LagSample[]>): () => void;
  /**
   * Registers a source of standby samples (per standby task and store: its lag behind the
   * changelog end); sampled when metrics are collected. Returns an unregister function.
   */
  observeStandbys?(applicationId: string, sample: () => StandbySample[]): () => void;
  /** A standby applied changelog records (the standbys' tail rate). */
  standbyReplayed?(applicationId: string, taskId: string, store: string, records: number): void;
}

export interface StandbySample {
  taskId: string;
  store: string;
  /** Changelog end at the standby's last round minus its checkpoint. */
  lag: number;
}

export interface LagSample {
  topic: string;
  partition: number;
  /** Last stable offset minus the group's committed offset. */
  lag: number;
}

export interface TaskTelemetry {
  /** A record is about to be processed. */
  process(record: ConsumedRecord): OperationScope | undefined;
  /** A punctuator is about to run. */
  punctuate(node: string, type: PunctuationType, time: number): OperationScope | undefined;
  /** A commit (flush, offsets, EndTxn) starts. */
  commit(): CommitScope | undefined;
  /** A logged store's restoration starts; `total` is an upper bound of the records to replay. */
  restore(store: string, topic: string, total: number): RestoreScope | undefined;
  /** A send to `topic` failed (the transaction is then aborted). */
  sendFailed(topic: string, error: unknown): void;
  /**
   * A processor dropped a record on purpose (e.g. a window aggregation's record later than
   * the window's grace period), as Kafka Streams' dropped-records sensor counts them.
   */
  dropped?(node: string, reason: string): void;
  /**
   * Runs the client call that sends records. An adapter may run it in a context that keeps a
   * client instrumentation (e.g. instrumentation-kafkajs) from adding spans of its own.
   */
  sending<T>(send: () => Promise<T>): Promise<T>;
}

/** Processing of one record, or one punctuation. */
export interface OperationScope {
  /**
   * An output record was created in this scope. The adapter may add trace-context headers
   * to `record.headers` (which the runtime has made a fresh object); the returned delivery
   * is ended when the record's transaction ends.
   */
  send(topic: string, record: ProducerRecord): Delivery | undefined;
  end(error?: unknown): void;
}

export interface Delivery {
  end(outcome: TransactionOutcome, error?: unknown): void;
}

export interface CommitResult {
  outcome: TransactionOutcome;
  /** Input records the transaction covered. */
  records: number;
  /** Next offsets to read, as committed (or as they would have been). */
  offsets: readonly TopicPartitionOffset[];
  error?: unknown;
}

export interface CommitScope {
  end(result: CommitResult): void;
}

export interface RestoreScope {
  /** Records replayed so far. */
  progress(restored: number): void;
  end(restored: number, error?: unknown): void;
}

const noopTask: TaskTelemetry = {
  process: () => undefined,
  punctuate: () => undefined,
  commit: () => undefined,
  restore: () => undefined,
  sendFailed: () => undefined,
  sending: (send) => send(),
};

/** Records nothing; the default. */
export const noopTelemetry: Telemetry = Object.freeze({
  task: () => noopTask,
  rebalanced: () => undefined,
  observeLag: () => () => undefined,
});

let defaultTelemetry: Telemetry = noopTelemetry;

/**
 * The telemetry of apps (and TopologyTestDriver tasks) built later without a `telemetry`
 * option, as OpenTelemetry's own global providers work. Pass `undefined` to reset.
 */
export function setDefaultTelemetry(telemetry: Telemetry | undefined): void {
  defaultTelemetry = telemetry ?? noopTelemetry;
}

export function getDefaultTelemetry(): Telemetry {
  return defaultTelemetry;
}

/** True for an object with the Telemetry methods (used to validate options). */
export function isTelemetry(value: unknown): value is Telemetry {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Record<string, unknown>;
  return (
    typeof t['task'] === 'function' &&
    typeof t['rebalanced'] === 'function' &&
    typeof t['observeLag'] === 'function'
  );
}
