/**
 * streamtx: exactly-once stream processing on Apache Kafka, with the Processor API of
 * Kafka Streams.
 *
 * @example A topology that splits lines into words and counts them per task
 * ```ts
 * import { Serdes, Topology, type Processor, type ProcessorContext, type Record } from 'streamtx/framework';
 *
 * class SplitWords implements Processor<string | null, string, string, number> {
 *   #context!: ProcessorContext<string, number>;
 *   init(context: ProcessorContext<string, number>) {
 *     this.#context = context;
 *   }
 *   async process(record: Record<string | null, string>) {
 *     for (const word of record.value.toLowerCase().split(/\W+/).filter(Boolean)) {
 *       await this.#context.forward({ ...record, key: word, value: 1 });
 *     }
 *   }
 * }
 *
 * const topology = new Topology()
 *   .addSource('lines', { topics: ['text-lines'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
 *   .addProcessor('split', () => new SplitWords(), 'lines')
 *   .addSink('words', { topic: 'words', keySerde: Serdes.string(), valueSerde: Serdes.int32() }, 'split');
 *
 * console.log(topology.describe().toString());
 * // Topologies:
 * //    Sub-topology: 0
 * //     Source: lines (topics: [text-lines])
 * //       --> split
 * //     Processor: split (stores: [])
 * //       --> words
 * //       <-- lines
 * //     Sink: words (topic: words)
 * //       <-- split
 * ```
 *
 * @module
 */

export {
  StreamsError,
  TaskMigratedError,
  TaskCorruptedError,
  StreamsFatalError,
  StreamsConfigError,
  TopologyError,
  SerializationError,
  DeserializationError,
  ProcessorError,
  type StreamsErrorContext,
  type StreamsErrorOptions,
} from './errors.ts';

export { Serdes, type Serde } from './serdes.ts';

export type {
  Cancellable,
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  PunctuationType,
  Punctuator,
  Record,
  RecordHeaders,
  StateStore,
  StateStoreContext,
  StoreBuilder,
} from './processor.ts';

export {
  Topology,
  type BuiltTopology,
  type NodeDescription,
  type OffsetReset,
  type ProcessorNode,
  type RepartitionTopicOptions,
  type RepartitionTopicSpec,
  type SinkNode,
  type SinkOptions,
  type SourceNode,
  type SourceOptions,
  type StreamPartitioner,
  type Subtopology,
  type SubtopologyDescription,
  type TimestampExtractor,
  type TopicNameExtractor,
  type TopologyDescription,
  type TopologyNode,
} from './topology.ts';

export type {
  CompiledStreamsAppOptions,
  ConsumerSettings,
  DeserializationErrorHandler,
  InvalidTimestampHandler,
  LogLevel,
  ProcessingGuarantee,
  ProducerSettings,
  RetryOptions,
  SaslOptions,
  StreamsAppOptions,
  TlsOptions,
} from './options.ts';

export type { Logger, LogFields } from './logger.ts';

export {
  changelogTopic,
  repartitionTopic,
  transactionalId,
  taskStateDir,
  topicPartitionKey,
} from './names.ts';

export {
  StreamsApp,
  type StreamsAppInternals,
  type StreamsAppState,
  type StateListener,
  type UncaughtErrorHandler,
  type CommitListener,
  type RestoreListener,
  type StreamsAppHealth,
} from './runtime/streams-app.ts';
export {
  startHealthServer,
  type HealthServer,
  type HealthServerOptions,
} from './runtime/health-server.ts';
export {
  RestoreProgress,
  formatRestoreProgress,
  type RestoreProgressLine,
} from './runtime/restore-progress.ts';
export type { CommitEvent } from './runtime/task-environment.ts';
export type { RestoreEvent } from './runtime/state-manager.ts';

export {
  noopTelemetry,
  setDefaultTelemetry,
  getDefaultTelemetry,
  type Telemetry,
  type TaskTelemetry,
  type TaskTelemetryInfo,
  type OperationScope,
  type Delivery,
  type CommitScope,
  type CommitResult,
  type RestoreScope,
  type LagSample,
  type TransactionOutcome,
} from './telemetry.ts';
// The OpenTelemetry adapter is the `streamtx/otel` entry (otel.ts at the package root): it
// imports @opentelemetry/api, an optional peer dependency this entry must load without.
