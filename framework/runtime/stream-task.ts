/**
 * A task: one sub-topology on one partition number of its co-partitioned
 * source topics. It owns the processor instances, the stores, the record
 * collector and, under exactly_once, its own transactional producer.
 *
 * Lifecycle (every transition runs on the task's SerialQueue):
 *
 *   CREATED ──init()──▶ INITIALIZING ──▶ RUNNING ──close()──▶ CLOSED
 *                           │                │
 *                           └──── failure ───┴──▶ CLOSED (dirty: aborted, producer dropped)
 *
 * init() fences first (InitProducerId), then opens stores, then reads the
 * committed offsets and seeks the consumer there (DESIGN.md invariant 2). A
 * task that failed is never reused: the app builds a new one, which fences
 * and re-reads its offsets, so nothing of the failed transaction survives.
 */
import { join } from 'node:path';
import { classify } from '../client/index.ts';
import type {
  ConsumedRecord,
  Headers,
  ProducerRecord,
  TopicPartition,
  TopicPartitionOffset,
} from '../client/index.ts';
import { faultPoint } from './fault-injection.ts';
import {
  DeserializationError,
  ProcessorError,
  SerializationError,
  StreamsError,
  StreamsFatalError,
  TaskCorruptedError,
  TaskMigratedError,
} from '../errors.ts';
import type { CompiledStreamsAppOptions } from '../options.ts';
import type {
  Cancellable,
  Processor,
  ProcessorContext,
  PunctuationType,
  Punctuator,
  Record as StreamRecord,
  RecordHeaders,
  StateStore,
} from '../processor.ts';
import type { SinkNode, SourceNode, Subtopology } from '../topology.ts';
import { SerialQueue } from './serial-queue.ts';
import {
  getDefaultTelemetry,
  type CommitScope,
  type Delivery,
  type OperationScope,
  type TaskTelemetry,
  type TransactionOutcome,
} from '../telemetry.ts';
import type { TaskOutput } from './task-output.ts';

export type TaskState = 'CREATED' | 'INITIALIZING' | 'RUNNING' | 'CLOSED';

export interface TaskEnvironment {
  readonly options: CompiledStreamsAppOptions;
  readonly output: TaskOutput;
  /** Next offset to read per partition (read after fencing); a partition without a commit starts at its beginning. */
  startOffsets(partitions: TopicPartition[]): Promise<Map<string, bigint>>;
  /** Points the consumer at `offset` and resumes fetching the partition. */
  seek(topic: string, partition: number, offset: bigint): void;
  partitionCount(topic: string): number | undefined;
  now(): number;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Told after every successful commit (metrics, benchmarks). */
  committed?(event: CommitEvent): void;
  /** First and end (read_committed) offsets of a changelog partition, read after fencing. */
  changelogOffsets(topic: string, partition: number): Promise<{ beginning: bigint; end: bigint }>;
  /** Committed changelog records in [from, until), in batches. */
  readChangelog(
    topic: string,
    partition: number,
    from: bigint,
    until: bigint,
  ): AsyncIterable<ConsumedRecord[]>;
  /** Restore progress, per store: at the start, after each batch, at the end. */
  restoring?(event: RestoreEvent): void;
}

export interface RestoreEvent {
  taskId: string;
  store: string;
  /** Changelog records replayed so far. */
  restored: number;
  /** Changelog records to replay (end − start offset; markers and compaction make it an upper bound). */
  total: number;
  done: boolean;
  /** Why the local state was not trusted and is rebuilt from the changelog start, if it was not. */
  rebuildReason?: string;
}

/** `${applicationId}-${store}-changelog`, the compacted topic a logged store writes to. */
export const changelogTopic = (applicationId: string, store: string): string =>
  `${applicationId}-${store}-changelog`;

export interface CommitEvent {
  taskId: string;
  /** Input records the transaction covered. */
  records: number;
  /** From the first send of the commit (outbox flush) to the commit's acknowledgement. */
  durationMs: number;
}

export const tpKey = (topic: string, partition: number): string => `${topic}:${partition}`;

interface CurrentRecord {
  topic: string | undefined;
  partition: number | undefined;
  offset: string | undefined;
  timestamp: number;
  headers: RecordHeaders;
}

interface Schedule {
  intervalMs: number;
  type: PunctuationType;
  callback: Punctuator;
  next: number;
  cancelled: boolean;
  node: string;
}

export class StreamTask {
  readonly queue = new SerialQueue();
  private stateValue: TaskState = 'CREATED';
  private readonly processors = new Map<string, Processor>();
  private readonly stores = new Map<string, StateStore>();
  /** Changelog topic per logged store. */
  private readonly changelogs = new Map<string, string>();
  /** Per logged store: next changelog offset after this transaction's writes. */
  private readonly changelogNext = new Map<string, bigint>();
  /** Changelog records replayed into each store at init (for tests and logs). */
  readonly restoredRecords = new Map<string, number>();
  /** Next offset to process per source partition; what the next commit sends. */
  private readonly positions = new Map<string, bigint>();
  private readonly outbox = new Map<string, ProducerRecord[]>();
  private outboxSize = 0;
  private readonly schedules: Schedule[] = [];
  private current: CurrentRecord = {
    topic: undefined,
    partition: undefined,
    offset: undefined,
    timestamp: -1,
    headers: {},
  };
  private currentNode = '';
  private streamTimeValue = -1;
  private uncommitted = 0;
  private transactionStartedAt = 0;
  private commitRequested = false;
  /** Records processed and committed over the task's life. */
  committedRecords = 0;
  private readonly telemetry: TaskTelemetry;
  /** The record or punctuation being processed, when telemetry records it. */
  private scope: OperationScope | undefined;
  /** Output records of the open transaction whose delivery telemetry records. */
  private deliveries: Delivery[] = [];
  private transactionOpen = false;

  constructor(
    readonly id: string,
    readonly partition: number,
    private readonly subtopology: Subtopology,
    private readonly env: TaskEnvironment,
  ) {
    const { applicationId } = env.options;
    this.telemetry = (env.options.telemetry ?? getDefaultTelemetry()).task({
      applicationId,
      groupId: applicationId,
      taskId: id,
      partition,
    });
  }

  get state(): TaskState {
    return this.stateValue;
  }

  get streamTime(): number {
    return this.streamTimeValue;
  }

  /** A store of this task (as Kafka Streams' Task.getStore), for the test driver and diagnostics. */
  getStore(name: string): StateStore | undefined {
    return this.stores.get(name);
  }

  get partitions(): TopicPartition[] {
    return this.subtopology.sourceTopics.map((topic) => ({ topic, partition: this.partition }));
  }

  /** True when a transaction is open and older than the commit interval, or a commit was asked for. */
  commitDue(now: number): boolean {
    return (
      this.env.output.inTransaction &&
      (this.commitRequested || now - this.transactionStartedAt >= this.env.options.commitIntervalMs)
    );
  }

  async init(): Promise<void> {
    this.transition('CREATED', 'INITIALIZING');
    await this.guard(async () => {
      await this.env.output.init(); // fence first: the previous owner can no longer commit
      const stateDir = join(this.env.options.stateDir, this.env.options.applicationId, this.id);
      const { applicationId } = this.env.options;
      for (const [name, builder] of this.subtopology.stores) {
        const store = builder.build();
        const logged = builder.loggingEnabled;
        await store.init({
          applicationId,
          taskId: this.id,
          stateDir,
          partition: this.partition,
          logChange: logged
            ? (storeName, key, value, timestamp) => this.logChange(storeName, key, value, timestamp)
            : undefined,
        });
        this.stores.set(name, store);
        if (logged) {
          this.changelogs.set(name, changelogTopic(applicationId, name));
          await this.restore(name, store);
        }
      }
      const start = await this.env.startOffsets(this.partitions);
      for (const { topic, partition } of this.partitions) {
        const offset = start.get(tpKey(topic, partition)) ?? 0n;
        this.positions.set(tpKey(topic, partition), offset);
        this.env.seek(topic, partition, offset);
      }
      for (const [name, node] of this.subtopology.nodes) {
        if (node.kind !== 'processor') continue;
        const processor = node.supplier();
        this.processors.set(name, processor);
        this.currentNode = name;
        await processor.init?.(this.contextFor(name));
      }
      this.currentNode = '';
    });
    this.stateValue = 'RUNNING';
    const from = [...this.positions].map(([tp, o]) => `${tp}@${o}`).join(', ');
    this.env.log('info', `task ${this.id} running from ${from}`);
  }

  /** Processes a fetched batch of one source partition; records before the task's position are skipped. */
  async process(records: ConsumedRecord[]): Promise<void> {
    if (this.stateValue !== 'RUNNING') return;
    await this.guard(async () => {
      for (const record of records) {
        const key = tpKey(record.topic, record.partition);
        const next = this.positions.get(key);
        if (next === undefined || record.offset < next) continue;
        this.beginIfNeeded();
        this.scope = this.telemetry.process(record);
        try {
          await this.processRecord(record);
          this.scope?.end();
        } catch (err) {
          this.scope?.end(err);
          throw err;
        } finally {
          this.scope = undefined;
        }
        this.positions.set(key, record.offset + 1n);
        this.uncommitted++;
        if (this.outboxSize >= this.env.options.maxBatchRecords) await this.flush();
        await this.punctuateStreamTime();
        if (this.commitRequested || this.uncommitted >= this.env.options.maxBatchRecords)
          await this.commitNow();
      }
    });
  }

  /** Commits the open transaction: flushes the outbox (all sends awaited), then offsets and commit. */
  async commit(): Promise<void> {
    if (this.stateValue !== 'RUNNING') return;
    await this.guard(() => this.commitNow());
  }

  /** Fires the wall-clock punctuators that are due. */
  async punctuateWallClock(now: number): Promise<void> {
    if (this.stateValue !== 'RUNNING') return;
    await this.guard(() => this.punctuate('wall-clock', now));
  }

  /** Clean close: commits the open transaction, closes processors, stores and the producer. */
  async close(): Promise<void> {
    if (this.stateValue === 'CLOSED') return;
    if (this.stateValue === 'RUNNING') await this.guard(() => this.commitNow());
    await this.closeResources();
  }

  /** Dirty close after a failure: aborts what can be aborted, keeps nothing. */
  async closeDirty(): Promise<void> {
    if (this.stateValue === 'CLOSED') return;
    if (this.transactionOpen) this.transactionEnded(this.telemetry.commit(), 'aborted');
    await this.env.output.abort().catch(() => undefined);
    for (const store of this.stores.values()) {
      try {
        store.rollbackTransaction?.();
      } catch {
        // closing rolls back too
      }
    }
    await this.closeResources();
  }

  // --- stores ---

  /**
   * Replays the changelog from the store's checkpoint to the end. The task
   * fenced first, so its own last transaction is resolved and the end is
   * stable. A store is rebuilt from the changelog start only when its local
   * state cannot be trusted — never because the last shutdown was unclean.
   */
  private async restore(name: string, store: StateStore): Promise<void> {
    const topic = this.changelogs.get(name)!;
    const { beginning, end } = await this.env.changelogOffsets(topic, this.partition);
    let from = store.checkpoint?.();
    let rebuildReason: string | undefined;
    if (from === undefined) {
      // A new store on an empty changelog has nothing to explain; an
      // in-memory store always starts empty.
      rebuildReason =
        store.persistent && end > beginning
          ? 'no local state to resume from (a new or emptied state directory, no recorded changelog offset, or a schema mismatch)'
          : undefined;
    } else if (from < beginning) {
      rebuildReason = `its checkpoint ${from} is before the changelog start ${beginning} (the changelog was truncated)`;
    } else if (from > end) {
      rebuildReason = `its checkpoint ${from} is past the changelog end ${end} (the changelog was deleted or recreated)`;
    }
    if (from === undefined || rebuildReason !== undefined) {
      if (rebuildReason)
        this.env.log(
          'warn',
          `task ${this.id}: rebuilding store ${name} from ${topic}-${this.partition}: ${rebuildReason}`,
        );
      store.wipe?.();
      from = beginning;
    }
    const total = Number(end - from);
    let restored = 0;
    const restoreScope = this.telemetry.restore(name, topic, total);
    const progress = (done: boolean): void => {
      if (done) restoreScope?.end(restored);
      else restoreScope?.progress(restored);
      this.env.restoring?.({
        taskId: this.id,
        store: name,
        restored,
        total,
        done,
        ...(rebuildReason ? { rebuildReason } : {}),
      });
    };
    progress(false);
    if (from < end) {
      try {
        for await (const batch of this.env.readChangelog(topic, this.partition, from, end)) {
          if (batch.length === 0) continue;
          store.restoreBatch?.(
            batch.map((r) => ({ key: r.key ?? Buffer.alloc(0), value: r.value })),
            batch[batch.length - 1]!.offset + 1n,
          );
          restored += batch.length;
          progress(false);
        }
      } catch (err) {
        restoreScope?.end(restored, err);
        throw err;
      }
    }
    this.restoredRecords.set(name, restored);
    progress(true);
    if (total > 0)
      this.env.log(
        'info',
        `task ${this.id}: restored ${restored} records into ${name} from ${topic}-${this.partition} [${from}, ${end})`,
      );
  }

  /** A logged store changed: the change joins the open transaction (Kafka Streams stamps it with the record's time). */
  private logChange(storeName: string, key: Buffer, value: Buffer | null, timestamp: number): void {
    const topic = this.changelogs.get(storeName);
    if (!topic) return;
    const time = this.current.timestamp >= 0 ? this.current.timestamp : timestamp;
    this.push(topic, { key, value, partition: this.partition, timestamp: time });
  }

  // --- processing ---

  private async processRecord(record: ConsumedRecord): Promise<void> {
    const source = this.subtopology.sourceByTopic.get(record.topic);
    if (!source) return;
    const offset = record.offset.toString();
    const context = { taskId: this.id, topic: record.topic, partition: record.partition, offset };
    let key: unknown;
    let value: unknown;
    const headers = toRecordHeaders(record.headers);
    try {
      key = source.keySerde.deserialize(record.topic, record.key, headers);
      value = source.valueSerde.deserialize(record.topic, record.value, headers);
    } catch (err) {
      await this.onDeserializationError(record, err, context);
      return;
    }
    let timestamp = record.timestamp;
    if (source.timestampExtractor) {
      timestamp = source.timestampExtractor(
        { key, value, timestamp, headers },
        this.streamTimeValue,
      );
    }
    this.streamTimeValue = Math.max(this.streamTimeValue, timestamp);
    this.current = { topic: record.topic, partition: record.partition, offset, timestamp, headers };
    try {
      await this.forwardFrom(source, { key, value, timestamp, headers });
    } catch (err) {
      if (err instanceof StreamsError) throw err;
      throw new ProcessorError(this.currentNode || source.name, err, context);
    } finally {
      this.currentNode = '';
    }
  }

  private async onDeserializationError(
    record: ConsumedRecord,
    err: unknown,
    context: { taskId: string; topic: string; partition: number; offset: string },
  ): Promise<void> {
    const handler = this.env.options.deserializationErrorHandler;
    const reason = err instanceof Error ? err.message : String(err);
    if (handler === 'fail') {
      throw new DeserializationError(`Cannot deserialize a record: ${reason}`, {
        ...context,
        cause: err,
      });
    }
    if (handler === 'skip') {
      this.env.log(
        'warn',
        `skipping a record that cannot be deserialized [task ${this.id}, ${record.topic}-${record.partition}@${context.offset}]: ${reason}`,
      );
      return;
    }
    // Dead letter: the raw record, inside the same transaction as the offsets that skip it.
    const headers: Headers = {};
    for (const [k, v] of Object.entries(record.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v[0]! : v;
    Object.assign(headers, {
      'streamtx.error': reason,
      'streamtx.topic': record.topic,
      'streamtx.partition': String(record.partition),
      'streamtx.offset': context.offset,
      'streamtx.task': this.id,
    });
    await this.enqueue(handler.deadLetterTopic, {
      key: record.key,
      value: record.value,
      headers,
      timestamp: record.timestamp,
    });
  }

  private async forwardFrom(
    from: SourceNode,
    record: StreamRecord<unknown, unknown>,
  ): Promise<void> {
    for (const child of from.children) await this.runNode(child, record);
  }

  private async runNode(name: string, record: StreamRecord<unknown, unknown>): Promise<void> {
    const node = this.subtopology.nodes.get(name);
    if (!node) throw new StreamsFatalError(`Unknown node "${name}"`, { taskId: this.id });
    if (node.kind === 'sink') return this.toSink(node, record);
    if (node.kind !== 'processor') return;
    const processor = this.processors.get(name)!;
    const previous = this.currentNode;
    this.currentNode = name;
    try {
      await processor.process(record);
    } catch (err) {
      if (err instanceof StreamsError) throw err;
      throw new ProcessorError(name, err, {
        taskId: this.id,
        topic: this.current.topic,
        partition: this.current.partition,
        offset: this.current.offset,
      });
    } finally {
      this.currentNode = previous;
    }
  }

  private async toSink(sink: SinkNode, record: StreamRecord<unknown, unknown>): Promise<void> {
    let key: Buffer | null;
    let value: Buffer | null;
    try {
      key = sink.keySerde.serialize(sink.topic, record.key, record.headers);
      value = sink.valueSerde.serialize(sink.topic, record.value, record.headers);
    } catch (err) {
      throw new SerializationError(
        `Sink "${sink.name}" cannot serialize a record for ${sink.topic}: ${err instanceof Error ? err.message : String(err)}`,
        {
          taskId: this.id,
          topic: this.current.topic,
          partition: this.current.partition,
          offset: this.current.offset,
          cause: err,
        },
      );
    }
    let partition: number | undefined;
    if (sink.partitioner) {
      const count = this.env.partitionCount(sink.topic);
      if (count === undefined)
        throw new StreamsFatalError(`Sink topic ${sink.topic} does not exist`, { taskId: this.id });
      partition = sink.partitioner(sink.topic, record.key, record.value, count);
    }
    const headers: Headers = {};
    for (const [k, v] of Object.entries(record.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v[0]! : v;
    await this.enqueue(sink.topic, { key, value, partition, headers, timestamp: record.timestamp });
  }

  /** Buffers an output record; a full outbox is flushed inside the open transaction. */
  private async enqueue(topic: string, record: ProducerRecord): Promise<void> {
    const delivery = this.scope?.send(topic, record);
    if (delivery) this.deliveries.push(delivery);
    this.push(topic, record);
    if (this.outboxSize >= this.env.options.maxBatchRecords) await this.flush();
  }

  private push(topic: string, record: ProducerRecord): void {
    const list = this.outbox.get(topic);
    if (list) list.push(record);
    else this.outbox.set(topic, [record]);
    this.outboxSize++;
  }

  private async flush(): Promise<void> {
    const batches = [...this.outbox];
    this.outbox.clear();
    this.outboxSize = 0;
    for (const [topic, records] of batches) {
      try {
        const landed = await this.telemetry.sending(() => this.env.output.send(topic, records));
        const store = this.storeOfChangelog(topic);
        if (store !== undefined) {
          for (const m of landed)
            if (m.partition === this.partition)
              this.changelogNext.set(store, m.baseOffset + BigInt(records.length));
        }
      } catch (err) {
        // Classified here, so a processor awaiting forward() cannot turn a
        // fenced or failed send into a processor error.
        this.telemetry.sendFailed(topic, err);
        throw this.classifyFailure(err);
      }
    }
  }

  private storeOfChangelog(topic: string): string | undefined {
    for (const [store, t] of this.changelogs) if (t === topic) return store;
    return undefined;
  }

  private beginIfNeeded(): void {
    if (!this.env.output.inTransaction) {
      this.env.output.begin();
      for (const store of this.stores.values()) store.beginTransaction?.();
      this.transactionStartedAt = this.env.now();
      this.transactionOpen = true;
    }
  }

  private async commitNow(): Promise<void> {
    if (!this.env.output.inTransaction) {
      this.commitRequested = false;
      return;
    }
    const started = performance.now();
    const scope = this.telemetry.commit();
    let outcome: TransactionOutcome | undefined;
    try {
      await this.flush();
      await this.env.output.commit(this.offsetsToCommit());
      outcome = 'committed';
      // Only now is the local state allowed to move: SQLite holds committed state only.
      faultPoint('after-kafka-commit-before-store-commit');
      for (const [name, store] of this.stores) {
        if (store.commitTransaction) store.commitTransaction(this.changelogNext.get(name));
        else await store.flush?.();
      }
    } catch (err) {
      const error = this.classifyFailure(err);
      this.transactionEnded(scope, outcome ?? outcomeOf(error), error);
      throw error;
    }
    this.transactionEnded(scope, outcome);
    this.changelogNext.clear();
    this.committedRecords += this.uncommitted;
    this.env.committed?.({
      taskId: this.id,
      records: this.uncommitted,
      durationMs: performance.now() - started,
    });
    this.uncommitted = 0;
    this.commitRequested = false;
  }

  private offsetsToCommit(): TopicPartitionOffset[] {
    return [...this.positions].map(([key, offset]) => {
      const at = key.lastIndexOf(':');
      return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)), offset };
    });
  }

  /** Tells telemetry how the transaction ended: its commit span and its records' deliveries. */
  private transactionEnded(
    scope: CommitScope | undefined,
    outcome: TransactionOutcome,
    error?: unknown,
  ): void {
    this.transactionOpen = false;
    scope?.end({
      outcome,
      records: this.uncommitted,
      offsets: scope ? this.offsetsToCommit() : [],
      ...(error === undefined ? {} : { error }),
    });
    if (this.deliveries.length === 0) return;
    for (const delivery of this.deliveries) delivery.end(outcome, error);
    this.deliveries = [];
  }

  // --- punctuation ---

  private schedule(
    node: string,
    intervalMs: number,
    type: PunctuationType,
    callback: Punctuator,
  ): Cancellable {
    if (!(Number.isFinite(intervalMs) && intervalMs >= 1)) {
      throw new RangeError(`schedule(): intervalMs must be at least 1 ms, got ${intervalMs}`);
    }
    const base = type === 'wall-clock' ? this.env.now() : this.streamTimeValue;
    // A stream-time schedule made before any record waits for the first one.
    const s: Schedule = {
      intervalMs,
      type,
      callback,
      next: base < 0 ? -1 : base + intervalMs,
      cancelled: false,
      node,
    };
    this.schedules.push(s);
    return { cancel: () => void (s.cancelled = true) };
  }

  private async punctuateStreamTime(): Promise<void> {
    if (this.schedules.length > 0) await this.punctuate('stream-time', this.streamTimeValue);
  }

  private async punctuate(type: PunctuationType, now: number): Promise<void> {
    for (const s of this.schedules) {
      if (s.cancelled || s.type !== type) continue;
      if (s.next < 0) {
        s.next = now + s.intervalMs;
        continue;
      }
      if (now < s.next) continue;
      // Fire once for the current time, however many intervals passed (as Kafka Streams does).
      while (s.next <= now) s.next += s.intervalMs;
      this.beginIfNeeded();
      const saved = this.current;
      this.current = {
        topic: undefined,
        partition: undefined,
        offset: undefined,
        timestamp: now,
        headers: {},
      };
      this.currentNode = s.node;
      const savedScope = this.scope;
      this.scope = this.telemetry.punctuate(s.node, type, now);
      try {
        await s.callback(now);
        this.scope?.end();
      } catch (err) {
        this.scope?.end(err);
        if (err instanceof StreamsError) throw err;
        throw new ProcessorError(s.node, err, { taskId: this.id });
      } finally {
        this.scope = savedScope;
        this.current = saved;
        this.currentNode = '';
      }
    }
  }

  // --- context ---

  private contextFor(name: string): ProcessorContext<unknown, unknown> {
    const node = this.subtopology.nodes.get(name);
    const children = node?.kind === 'processor' ? node.children : [];
    const allowedStores = node?.kind === 'processor' ? node.stores : [];
    const task = this;
    return {
      get applicationId() {
        return task.env.options.applicationId;
      },
      get taskId() {
        return task.id;
      },
      get topic() {
        return task.current.topic;
      },
      get partition() {
        return task.current.partition;
      },
      get offset() {
        return task.current.offset;
      },
      get timestamp() {
        return task.current.timestamp;
      },
      get headers() {
        return task.current.headers;
      },
      async forward(record, childName) {
        if (childName !== undefined && !children.includes(childName)) {
          throw new StreamsFatalError(
            `Processor "${name}" has no child "${childName}" (children: ${children.join(', ') || 'none'})`,
            { taskId: task.id },
          );
        }
        const previous = task.currentNode;
        try {
          for (const child of childName === undefined ? children : [childName])
            await task.runNode(child, record);
        } finally {
          task.currentNode = previous;
        }
      },
      getStateStore<S extends StateStore>(storeName: string): S {
        const store = task.stores.get(storeName);
        if (!store || !allowedStores.includes(storeName)) {
          throw new StreamsFatalError(
            `Processor "${name}" has no state store "${storeName}" (connected: ${allowedStores.join(', ') || 'none'})`,
            { taskId: task.id },
          );
        }
        return store as S;
      },
      schedule(intervalMs, type, callback) {
        return task.schedule(name, intervalMs, type, callback);
      },
      commit() {
        task.commitRequested = true;
      },
    };
  }

  // --- failure and close ---

  /** Runs work; any failure closes the task dirty and surfaces as a classified StreamsError. */
  private async guard(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      const error = this.classifyFailure(err);
      if (this.transactionOpen)
        this.transactionEnded(this.telemetry.commit(), outcomeOf(error), error);
      await this.closeDirty();
      throw error;
    }
  }

  private classifyFailure(err: unknown): StreamsError {
    if (err instanceof StreamsError) return err;
    const context = {
      taskId: this.id,
      topic: this.current.topic,
      partition: this.current.partition,
      offset: this.current.offset,
      cause: err,
    };
    const message = err instanceof Error ? err.message : String(err);
    switch (classify(err).kind) {
      case 'migrated':
        return new TaskMigratedError(
          `Task ${this.id} was fenced: another worker owns it now (${message})`,
          context,
        );
      case 'fatal':
        return new StreamsFatalError(`Task ${this.id} failed: ${message}`, context);
      default:
        // ambiguous or retriable: never assume an outcome; a new task re-fences and re-reads offsets
        return new TaskCorruptedError(
          `Task ${this.id} must be re-initialised: ${message}`,
          context,
        );
    }
  }

  private async closeResources(): Promise<void> {
    const previous = this.stateValue;
    this.stateValue = 'CLOSED';
    if (previous === 'RUNNING' || previous === 'INITIALIZING') {
      for (const processor of this.processors.values())
        await Promise.resolve(processor.close?.()).catch(() => undefined);
    }
    for (const store of this.stores.values())
      await Promise.resolve(store.close()).catch(() => undefined);
    this.processors.clear();
    this.stores.clear();
    this.outbox.clear();
    await this.env.output.close().catch(() => undefined);
  }

  private transition(from: TaskState, to: TaskState): void {
    if (this.stateValue !== from)
      throw new Error(`task ${this.id}: cannot go from ${this.stateValue} to ${to}`);
    this.stateValue = to;
  }
}

/** A fenced task's transaction was aborted by its new owner's InitProducerId; any other failure aborts it. */
function outcomeOf(error: StreamsError): TransactionOutcome {
  return error instanceof TaskMigratedError ? 'fenced' : 'aborted';
}

function toRecordHeaders(headers: ConsumedRecord['headers']): RecordHeaders {
  const out: RecordHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = v;
  return out;
}
