/**
 * The Processor API types, shaped after Kafka Streams' `org.apache.kafka.streams.processor.api`.
 * `StateStore` and `StoreBuilder` are the small interfaces stores/ implements; they must stay
 * free of runtime types so stores/ never depends on the runtime.
 */

/** Kafka record headers; a key may repeat, hence the arrays (same shape kafkajs uses). */
export interface RecordHeaders {
  [key: string]: Buffer | string | (Buffer | string)[] | undefined;
}

/**
 * A record flowing through the topology. Keys and values read from Kafka may be null
 * (null keys, tombstones): declare `V | null` where a topic carries them. Forward a changed
 * copy with a spread, e.g. `context.forward({ ...record, value: n })`.
 */
export interface Record<K, V> {
  readonly key: K;
  readonly value: V;
  /** Milliseconds since the epoch; drives stream time. */
  readonly timestamp: number;
  readonly headers: RecordHeaders;
}

export type PunctuationType = 'stream-time' | 'wall-clock';

/** Called with the stream time or wall-clock time (ms) at which the punctuation fires. */
export type Punctuator = (timestamp: number) => void | Promise<void>;

export interface Cancellable {
  cancel(): void;
}

/** What a processor sees of its task. One context per processor instance (i.e. per task). */
export interface ProcessorContext<KOut = unknown, VOut = unknown> {
  readonly applicationId: string;
  /** `${subtopologyId}_${partition}`, as in Kafka Streams. */
  readonly taskId: string;
  /** Topic of the current record; undefined inside a punctuator. */
  readonly topic: string | undefined;
  /** Partition of the current record; undefined inside a punctuator. */
  readonly partition: number | undefined;
  /** Offset of the current record (decimal string, exact for int64); undefined in a punctuator. */
  readonly offset: string | undefined;
  /** Timestamp of the current record, or the punctuation time inside a punctuator. */
  readonly timestamp: number;
  /** Headers of the current record; empty inside a punctuator. */
  readonly headers: RecordHeaders;

  /**
   * Sends a record to every child, or only to `childName`. Resolves once the children (and
   * their descendants) have processed it, depth-first as in Kafka Streams; await it so a
   * failure downstream fails this record and aborts the transaction.
   */
  forward(record: Record<KOut, VOut>, childName?: string): Promise<void>;

  /** A store connected to this processor (via `addStateStore`); throws for any other name. */
  getStateStore<S extends StateStore = StateStore>(name: string): S;

  /**
   * Calls `callback` every `intervalMs` of stream time (advanced by record timestamps) or of
   * wall-clock time. Its output joins the task's open transaction.
   */
  schedule(intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable;

  /** Asks for a commit as soon as the current record is processed. */
  commit(): void;

  /**
   * Tells the runtime this processor dropped the current record on purpose (e.g. a record
   * later than its window's grace period): counted in the `streamtx.dropped.records` metric
   * by reason, and logged at debug level.
   */
  droppedRecord(reason: string): void;
}

/** One instance per task; the runtime never shares an instance between tasks. */
export interface Processor<KIn = unknown, VIn = unknown, KOut = unknown, VOut = unknown> {
  init?(context: ProcessorContext<KOut, VOut>): void | Promise<void>;
  process(record: Record<KIn, VIn>): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** Must return a new instance on every call: each task gets its own processor. */
export type ProcessorSupplier<
  KIn = unknown,
  VIn = unknown,
  KOut = unknown,
  VOut = unknown,
> = () => Processor<KIn, VIn, KOut, VOut>;

/** What a store learns from the task that owns it. */
export interface StateStoreContext {
  readonly applicationId: string;
  readonly taskId: string;
  /** A directory owned by this task, for persistent stores. */
  readonly stateDir: string;
  /** The task's partition number (= the changelog partition). */
  readonly partition?: number;
  /**
   * Set by the runtime when the store is logged. The store's change-logging layer calls it
   * synchronously on every change, with the serialized changelog key and value (`null` = a
   * tombstone), never on reads, never for records applied by `restoreBatch`. The runtime sends
   * it to `${applicationId}-${storeName}-changelog`, partition `partition`, inside the task's
   * open Kafka transaction. `timestamp` is the change's time in ms (window stores: the window
   * start; key-value stores: wall-clock time, which the runtime may replace with the current
   * record's timestamp as Kafka Streams does). Each store documents its changelog key layout.
   */
  readonly logChange?: (
    storeName: string,
    key: Buffer,
    value: Buffer | null,
    timestamp: number,
  ) => void;
}

/**
 * A store owned by one task. The optional members below are the transaction and restore
 * contract the task runtime drives (docs/architecture.md, "State and recovery without wiping");
 * stores/ implements them for every built-in store. The runtime calls them in this order:
 *
 *   init → checkpoint → [wipe] → restoreBatch* → (beginTransaction → writes →
 *   commitTransaction | rollbackTransaction)* → close
 *
 * All of them are synchronous for the built-in stores.
 */
export interface StateStore {
  readonly name: string;
  /** True when the store keeps data on local disk (so restoration can start from it). */
  readonly persistent: boolean;
  init(context: StateStoreContext): void | Promise<void>;
  flush?(): void | Promise<void>;
  /** Closing inside a transaction rolls it back: nothing uncommitted survives a close. */
  close(): void | Promise<void>;

  /**
   * The task's Kafka transaction began: from here writes are provisional (reads see them)
   * until `commitTransaction` or `rollbackTransaction`. Throws if one is already open.
   */
  beginTransaction?(): void;
  /**
   * The Kafka commit succeeded: makes the transaction's writes durable together with
   * `changelogOffset`, the next changelog offset to replay from (last changelog record of this
   * store written in the transaction + 1), atomically. `undefined` keeps the recorded offset
   * (still a safe replay start, since replay is idempotent). Throws if no transaction is open.
   */
  commitTransaction?(changelogOffset: bigint | undefined): void;
  /** The Kafka transaction aborted: the store holds none of its writes afterwards. */
  rollbackTransaction?(): void;
  /**
   * The changelog offset the committed local state reflects (replay starts there), or
   * `undefined` when there is no trustworthy local state (no file, no recorded offset, schema
   * mismatch, in-memory store): then the runtime restores from the changelog's start.
   */
  checkpoint?(): bigint | undefined;
  /**
   * Applies changelog records in order (whole values, `null` = tombstone; idempotent) and
   * records `nextOffset` (offset of the last record + 1), atomically per batch. Logs nothing.
   * Only outside a transaction.
   */
  restoreBatch?(records: { key: Buffer; value: Buffer | null }[], nextOffset: bigint): void;
  /** Drops all contents and the checkpoint (rolling back an open transaction first). */
  wipe?(): void;
}

/** Builds one store instance per task. */
export interface StoreBuilder<S extends StateStore = StateStore> {
  readonly name: string;
  /** Whether the store is changelogged to `${applicationId}-${name}-changelog`. */
  readonly loggingEnabled: boolean;
  /**
   * Topic configs of the store's changelog, which the app creates
   * (docs/architecture.md, "Internal topics"). A key-value store's changelog is compacted;
   * a window or session store's also deletes by time (retention + 1 day, as Kafka Streams'
   * `windowstore.changelog.additional.retention.ms`), so expired windows never come back.
   * @default { 'cleanup.policy': 'compact' }
   */
  readonly changelogConfig?: { readonly [config: string]: string };
  build(): S;
  /**
   * The changelog offset recorded in the store's file in a task's state directory, read
   * without opening the store for writing; undefined when there is none to trust (no file, no
   * recorded offset, another layout) and for stores that keep nothing on disk. A worker
   * reports it for every task whose state it holds, so the assignment can prefer the most
   * caught-up holder (docs/architecture.md, "Standby replicas and state-aware assignment").
   */
  readCheckpoint?(stateDir: string): bigint | undefined;
  /**
   * One read-only view over the committed state of a worker's instances of this store (one per
   * task), for interactive queries (`StreamsApp.store`). `instances` is asked on every read,
   * so the view follows tasks as they come and go; reads never see a task's open transaction.
   */
  queryableView?(instances: () => readonly StateStore[]): object;
}
