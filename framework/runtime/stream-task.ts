/**
 * A task: one sub-topology on one partition number of its co-partitioned
 * source topics (docs/architecture.md, "Tasks"). It owns the processor
 * instances, a state manager (stores, restore), a record collector (the
 * outbox) and, under exactly_once, its own transactional producer. This
 * file keeps the lifecycle and the commit cycle; the rest lives in its
 * seams: state-manager.ts, record-collector.ts, processor-context.ts,
 * punctuation-queue.ts, task-output.ts.
 *
 * Lifecycle (every transition runs on the task's serial queue; TASK_TRANSITIONS):
 *
 *   CREATED ──init()──▶ RESTORING ──▶ RUNNING ──close()──▶ CLOSED
 *      │                    │            │                   ▲
 *      └────────────────────┴─ failure ──┴── closeDirty() ───┘
 *
 * The exactly-once order, in one screen (invariants 2 and 3):
 *
 *   init:    fence (InitProducerId) → previous incarnation closed → restore
 *            stores → read committed offsets → seek → processors' init()
 *   commit:  begin → process records (sends buffered) → flush (every send
 *            awaited) → sendOffsets(last processed + 1) → EndTxn → commit
 *            the stores' SQLite transaction with the changelog offset
 *
 * A task that failed is never reused: the task manager builds a new one,
 * which fences and re-reads its offsets, so nothing of the failed
 * transaction survives (invariant 4).
 */
import type { ConsumedRecord, TopicPartition, TopicPartitionOffset } from '../client/index.ts';
import {
  DeserializationError,
  ProcessorError,
  StreamsError,
  StreamsFatalError,
  TaskCorruptedError,
  TaskMigratedError,
  type StreamsErrorContext,
} from '../errors.ts';
import type { LogFields } from '../logger.ts';
import { parseTopicPartitionKey, topicPartitionKey } from '../names.ts';
import type {
  Cancellable,
  Processor,
  PunctuationType,
  Punctuator,
  Record as StreamRecord,
  RecordHeaders,
  StateStore,
} from '../processor.ts';
import type { OperationScope, TaskTelemetry, TransactionOutcome } from '../telemetry.ts';
import type {
  ProcessorNode,
  SinkNode,
  SourceNode,
  Subtopology,
  TopologyNode,
} from '../topology.ts';
import { faultPoint } from './fault-injection.ts';
import { ProcessorContextImpl, type ContextHost } from './processor-context.ts';
import { PartitionGroup } from './partition-group.ts';
import { PunctuationQueue, type Schedule } from './punctuation-queue.ts';
import { RecordCollector } from './record-collector.ts';
import { SerialQueue } from './serial-queue.ts';
import type { StateDirHolder } from './state-dir-holder.ts';
import { StateManager } from './state-manager.ts';
import type { SourcePartition, TaskEnvironment } from './task-environment.ts';
import { translateFailure, type TaskOutput } from './task-output.ts';

export type { CommitEvent, TaskEnvironment } from './task-environment.ts';
export type { RestoreEvent } from './state-manager.ts';

export type TaskState = 'CREATED' | 'RESTORING' | 'RUNNING' | 'CLOSED';

export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  CREATED: ['RESTORING', 'CLOSED'],
  RESTORING: ['RUNNING', 'CLOSED'],
  RUNNING: ['CLOSED'],
  CLOSED: [],
};

/** Records of one partition buffered before it is paused (Kafka Streams' buffered.records.per.partition). */
const MAX_BUFFERED_PER_PARTITION = 5000;

const EMPTY_HEADERS: RecordHeaders = Object.freeze({}) as RecordHeaders;

export class StreamTask implements ContextHost, StateDirHolder {
  readonly queue = new SerialQueue();
  private stateValue: TaskState = 'CREATED';
  private readonly telemetry: TaskTelemetry;
  private readonly output: TaskOutput;
  private readonly collector: RecordCollector;
  private readonly stateManager: StateManager;
  private readonly punctuation = new PunctuationQueue();
  private readonly processors = new Map<string, Processor>();
  private readonly contexts = new Map<string, ProcessorContextImpl>();
  /** Next offset to process per source partition (by topicPartitionKey); what the next commit sends. */
  private readonly positions = new Map<string, bigint>();
  /** Records fetched but not processed, when the task reads several partitions. */
  private readonly group: PartitionGroup | undefined;
  private readonly pausedForBuffer = new Set<string>();
  /** The positions of the last successful commit. */
  private committedPositions: ReadonlyMap<string, bigint> = new Map();

  // The record (or punctuation) being processed: what the context shows and errors name.
  private curTopic: string | undefined;
  private curPartition: number | undefined;
  private curOffset: bigint | undefined;
  private curTimestamp = -1;
  private curHeaders: RecordHeaders = EMPTY_HEADERS;
  private scope: OperationScope | undefined;

  private streamTimeValue = -1;
  private uncommitted = 0;
  private transactionStartedAt = 0;
  private transactionOpen = false;
  private commitRequested = false;
  /** A failure raised outside a processor call (a late forward): fails the task's next step. */
  private pendingFailure: StreamsError | undefined;
  /** Set when the task manager gave up on a job of this task (it outlived its time limit). */
  private abandoned: StreamsError | undefined;
  private outputClosed = false;
  /** Records processed and committed over the task's life. */
  committedRecords = 0;
  private resolveClosed!: () => void;
  /** Resolves once the task is CLOSED and its stores and producer are released. */
  readonly closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(
    readonly id: string,
    readonly partition: number,
    private readonly subtopology: Subtopology,
    private readonly env: TaskEnvironment,
    /** The task's previous holder of its state directory on this worker (an incarnation or a standby). */
    private readonly previous?: StateDirHolder,
  ) {
    const { applicationId } = env.options;
    this.telemetry = env.telemetry.task({
      applicationId,
      groupId: applicationId,
      taskId: id,
      partition,
    });
    const where = (): StreamsErrorContext => this.errorContext();
    this.output = env.createOutput(where);
    this.collector = new RecordCollector({
      taskId: id,
      partition,
      output: this.output,
      telemetry: this.telemetry,
      partitionCount: (topic) => env.partitionCount(topic),
      fetchPartitionCount: (topic) => env.fetchPartitionCount(topic),
      where,
    });
    this.group =
      subtopology.sourceTopics.length > 1
        ? new PartitionGroup(this.partitions, env.options.maxTaskIdleMs, (r) =>
            this.orderingTime(r),
          )
        : undefined;
    this.stateManager = new StateManager(
      id,
      partition,
      subtopology.stores,
      env,
      this.collector,
      this.telemetry,
      () => this.curTimestamp,
    );
  }

  get state(): TaskState {
    return this.stateValue;
  }

  get streamTime(): number {
    return this.streamTimeValue;
  }

  /** Changelog records replayed into each store at init. */
  get restoredRecords(): ReadonlyMap<string, number> {
    return this.stateManager.restoredRecords;
  }

  /** A store of this task (as Kafka Streams' Task.getStore), for the test driver and diagnostics. */
  getStore(name: string): StateStore | undefined {
    return this.stateManager.store(name);
  }

  /** Committed next offsets of the task's repartition inputs: what may be purged below. */
  committedRepartitionOffsets(): TopicPartitionOffset[] {
    return this.subtopology.repartitionSourceTopics.flatMap((topic) => {
      const offset = this.committedPositions.get(topicPartitionKey(topic, this.partition));
      return offset === undefined || offset === 0n
        ? []
        : [{ topic, partition: this.partition, offset }];
    });
  }

  get partitions(): TopicPartition[] {
    return this.subtopology.sourceTopics.map((topic) => ({ topic, partition: this.partition }));
  }

  /** True when a transaction is open and older than the commit interval, or a commit was asked for. */
  commitDue(now: number): boolean {
    const at = this.commitDueAt;
    return at !== undefined && (this.commitRequested || now >= at);
  }

  /** When the open transaction's commit interval ends; undefined when none is open. */
  get commitDueAt(): number | undefined {
    return this.transactionOpen
      ? this.transactionStartedAt + this.env.options.commitIntervalMs
      : undefined;
  }

  // --- lifecycle ---

  async init(): Promise<void> {
    this.transition('RESTORING');
    await this.guard(async () => {
      await this.output.init(); // fence first: the previous owner can no longer commit
      await this.awaitPrevious();
      await this.stateManager.open();
      const sources = this.sourcePartitions();
      const start = await this.env.startOffsets(sources);
      for (const { topic, partition } of sources) {
        const key = topicPartitionKey(topic, partition);
        const offset = start.get(key) ?? 0n;
        this.positions.set(key, offset);
        this.group?.start(topic, partition, offset);
        this.env.seek(topic, partition, offset);
      }
      this.committedPositions = new Map(this.positions);
      for (const node of this.subtopology.nodes.values()) {
        if (node.kind !== 'processor') continue;
        const processor = node.supplier();
        if (
          typeof processor !== 'object' ||
          processor === null ||
          typeof processor.process !== 'function'
        ) {
          throw new StreamsFatalError(
            `Processor "${node.name}": its supplier returned ${String(processor)}, not a processor with process()`,
            { taskId: this.id },
          );
        }
        if (this.env.processorInstances.has(processor)) {
          throw new StreamsFatalError(
            `Processor "${node.name}": its supplier returned an instance it had returned before; it must return a new processor on every call (one per task)`,
            { taskId: this.id },
          );
        }
        this.env.processorInstances.add(processor);
        const context = new ProcessorContextImpl(this, node);
        this.processors.set(node.name, processor);
        this.contexts.set(node.name, context);
        await processor.init?.(context);
      }
    });
    this.transition('RUNNING');
    const from = [...this.positions].map(([tp, o]) => `${tp}@${o}`).join(', ');
    this.env.log('info', `task ${this.id} running from ${from}`);
  }

  /** Processes a fetched batch; records before the task's position are skipped. */
  async process(records: readonly ConsumedRecord[]): Promise<void> {
    if (this.stateValue !== 'RUNNING') return;
    await this.guard(() => this.processBatch(records));
    // The batch's output goes out while the task waits for its next one: the commit then
    // waits only for what came after (docs/architecture.md, "Sending ahead").
    if (this.stateValue === 'RUNNING') this.collector.sendAhead();
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

  /**
   * Dirty close after a failure: aborts what can be aborted, keeps nothing. Runs on the
   * task's queue (from a failed job, or queued by `abandon`), so no send of the task is in
   * flight while it aborts.
   */
  async closeDirty(): Promise<void> {
    if (this.stateValue === 'CLOSED') {
      // Force-closed while a job was stuck: the producer is released once that job is done.
      if (this.abandoned) await this.closeOutput();
      return;
    }
    await this.collector.settled(); // a send ahead of the commit may still be in flight
    if (this.transactionOpen) this.transactionEnded(this.telemetry.commit(), 'aborted');
    await this.output.abort().catch(() => undefined);
    this.stateManager.rollback();
    await this.closeResources();
  }

  /**
   * A job of this task outlived its time limit: the task must not be used again. Queues a
   * dirty close behind the stuck job; the next incarnation fences the producer first, then
   * waits for that close (or forces it, see `forceClose`).
   */
  abandon(reason: StreamsError): void {
    this.abandoned ??= reason;
    void this.queue.run(() => this.closeDirty()).catch(() => undefined);
  }

  /**
   * Releases the stores of an abandoned task whose stuck job never ended, so its next
   * incarnation can open them. Only after that incarnation fenced the producer: the stuck
   * job can then neither commit to Kafka nor to SQLite (its stores are closed under it).
   */
  forceClose(): void {
    if (this.stateValue === 'CLOSED') return;
    this.abandoned ??= new TaskCorruptedError(`Task ${this.id} was force-closed`, {
      taskId: this.id,
    });
    this.stateManager.rollback();
    void this.stateManager.close();
    this.stateValue = 'CLOSED';
    this.resolveClosed();
  }

  // --- ContextHost: what processor contexts see ---

  get applicationId(): string {
    return this.env.options.applicationId;
  }
  get taskId(): string {
    return this.id;
  }
  get currentTopic(): string | undefined {
    return this.curTopic;
  }
  get currentPartition(): number | undefined {
    return this.curPartition;
  }
  get currentOffset(): string | undefined {
    return this.curOffset?.toString();
  }
  get currentTimestamp(): number {
    return this.curTimestamp;
  }
  get currentHeaders(): RecordHeaders {
    return this.curHeaders;
  }

  errorContext(): StreamsErrorContext {
    return {
      taskId: this.id,
      ...(this.curTopic === undefined ? {} : { topic: this.curTopic }),
      ...(this.curPartition === undefined ? {} : { partition: this.curPartition }),
      ...(this.curOffset === undefined ? {} : { offset: this.curOffset.toString() }),
    };
  }

  forwardTo(
    children: readonly string[],
    record: StreamRecord<unknown, unknown>,
  ): void | Promise<void> {
    for (let i = 0; i < children.length; i++) {
      const pending = this.runNode(children[i]!, record);
      if (pending !== undefined) {
        if (i === children.length - 1) return pending;
        return pending.then(() => this.forwardTo(children.slice(i + 1), record));
      }
    }
  }

  store(name: string): StateStore | undefined {
    return this.stateManager.store(name);
  }

  globalStore(name: string): StateStore | undefined {
    return this.env.globalStore?.(name);
  }

  schedule(
    node: string,
    intervalMs: number,
    type: PunctuationType,
    callback: Punctuator,
  ): Cancellable {
    return this.punctuation.schedule(node, intervalMs, type, callback, this.env.now());
  }

  requestCommit(): void {
    this.commitRequested = true;
  }

  droppedRecord(node: string, reason: string): void {
    this.telemetry.dropped?.(node, reason);
    this.env.log(
      'debug',
      `processor ${node} dropped a record (${reason}) [${this.curTopic}-${this.curPartition}@${this.curOffset}]`,
    );
  }

  lateForward(node: string): void {
    this.pendingFailure ??= new ProcessorError(
      node,
      new Error(
        'forward() was called after process() (or the punctuator) had returned, so the record it belongs to is already done: ' +
          'await context.forward(...) inside process(), or return the promise chain that calls it',
      ),
      this.errorContext(),
    );
  }

  // --- processing ---

  private async processBatch(records: readonly ConsumedRecord[]): Promise<void> {
    if (this.group) {
      this.group.add(records);
      this.applyBackpressure(records);
      await this.drain();
      return;
    }
    let positionKey = '';
    let keyTopic: string | undefined;
    let keyPartition = -1;
    for (const record of records) {
      if (record.topic !== keyTopic || record.partition !== keyPartition) {
        keyTopic = record.topic;
        keyPartition = record.partition;
        positionKey = topicPartitionKey(record.topic, record.partition);
      }
      const next = this.positions.get(positionKey);
      if (next === undefined || record.offset < next) continue;
      await this.processOne(record, positionKey);
    }
  }

  /** Processes the buffered records of a multi-partition task in timestamp order, as far as it may. */
  private async drain(): Promise<void> {
    const group = this.group!;
    for (;;) {
      const next = group.next(this.env.now(), (key) => this.positions.get(key));
      if (next.kind === 'empty') break;
      if (next.kind === 'wait') {
        for (const tp of next.refresh) this.learnEnd(tp.topic, tp.partition);
        break;
      }
      const { record, key } = next;
      const position = this.positions.get(key);
      if (position === undefined || record.offset < position) continue;
      await this.processOne(record, key);
      this.applyBackpressure([record]);
    }
  }

  /** Asks for a partition's last stable offset; the answer lets a waiting task go on. */
  private learnEnd(topic: string, partition: number): void {
    const group = this.group!;
    this.env.endOffset(topic, partition).then(
      (end) => {
        group.learnEnd(topic, partition, end, this.env.now());
        this.env.wake?.();
      },
      () => group.endRequestFailed(topic, partition),
    );
  }

  /**
   * Kafka Streams' buffered.records.per.partition: a partition with many records buffered
   * (waiting for another partition's) is paused, and resumed once half of them are processed.
   */
  private applyBackpressure(records: readonly ConsumedRecord[]): void {
    const group = this.group!;
    const seen = new Set<string>();
    for (const r of records) {
      const key = topicPartitionKey(r.topic, r.partition);
      if (seen.has(key)) continue;
      seen.add(key);
      const n = group.buffered(r.topic, r.partition);
      if (n >= MAX_BUFFERED_PER_PARTITION && !this.pausedForBuffer.has(key)) {
        this.pausedForBuffer.add(key);
        this.env.pause?.(r.topic, r.partition);
      } else if (n <= MAX_BUFFERED_PER_PARTITION / 2 && this.pausedForBuffer.delete(key)) {
        this.env.resume?.(r.topic, r.partition);
      }
    }
  }

  /** Lets a multi-partition task waiting for a partition go on if it now may (timers call it). */
  async poke(): Promise<void> {
    if (this.stateValue !== 'RUNNING' || !this.group || this.group.totalBuffered === 0) return;
    await this.guard(() => this.drain());
  }

  /** One record, then what follows it: flush, stream-time punctuation, commit. */
  private async processOne(record: ConsumedRecord, positionKey: string): Promise<void> {
    this.checkUsable();
    this.beginIfNeeded();
    this.scope = this.telemetry.process(record);
    try {
      const pending = this.processRecord(record);
      if (pending !== undefined) await pending;
      this.scope?.end();
    } catch (err) {
      this.scope?.end(err);
      throw err;
    } finally {
      this.scope = undefined;
    }
    this.positions.set(positionKey, record.offset + 1n);
    this.uncommitted++;
    this.checkUsable();
    if (this.collector.size >= this.env.options.maxBatchRecords) await this.flush();
    if (this.punctuation.size > 0) {
      const due = this.punctuation.due('stream-time', this.streamTimeValue);
      if (due.length > 0) await this.fire(due, this.streamTimeValue);
    }
    if (this.commitRequested || this.uncommitted >= this.env.options.maxBatchRecords)
      await this.commitNow();
  }

  /** A record's time for ordering across partitions: as processing will extract it. */
  orderingTime(record: ConsumedRecord): number {
    const source = this.subtopology.sourceByTopic.get(record.topic);
    if (!source?.timestampExtractor) return record.timestamp;
    try {
      const key = source.keySerde.deserialize(record.topic, record.key, record.headers);
      const value = source.valueSerde.deserialize(record.topic, record.value, record.headers);
      const t = source.timestampExtractor(
        { key, value, timestamp: record.timestamp, headers: record.headers },
        this.streamTimeValue,
      );
      return typeof t === 'number' && Number.isFinite(t) ? t : record.timestamp;
    } catch {
      return record.timestamp; // processing reports the failure, in its turn
    }
  }

  /** Deserializes, stamps and forwards one record from its source; void when it ran synchronously. */
  private processRecord(record: ConsumedRecord): void | Promise<void> {
    const source = this.subtopology.sourceByTopic.get(record.topic);
    if (!source) return;
    // Name the record before anything of it runs, so every error below points at it.
    this.curTopic = record.topic;
    this.curPartition = record.partition;
    this.curOffset = record.offset;
    this.curHeaders = record.headers;
    this.curTimestamp = record.timestamp;
    let key: unknown;
    let value: unknown;
    try {
      key = source.keySerde.deserialize(record.topic, record.key, record.headers);
      value = source.valueSerde.deserialize(record.topic, record.value, record.headers);
    } catch (err) {
      return this.onDeserializationError(record, err);
    }
    const timestamp = this.extractTimestamp(source, record, key, value);
    if (timestamp === undefined) return; // skipped, per invalidTimestampHandler
    if (timestamp > this.streamTimeValue) this.streamTimeValue = timestamp;
    this.curTimestamp = timestamp;
    const children = source.children;
    if (children.length === 0) return;
    return this.forwardTo(children, { key, value, timestamp, headers: record.headers });
  }

  /** The record's event time: the source's extractor, checked (an integer >= 0), or the Kafka timestamp. */
  private extractTimestamp(
    source: SourceNode,
    record: ConsumedRecord,
    key: unknown,
    value: unknown,
  ): number | undefined {
    let timestamp = record.timestamp;
    let origin = "the record's Kafka timestamp";
    if (source.timestampExtractor) {
      origin = `the timestamp extractor of source "${source.name}"`;
      try {
        timestamp = source.timestampExtractor(
          { key, value, timestamp, headers: record.headers },
          this.streamTimeValue,
        );
      } catch (err) {
        throw new StreamsFatalError(
          `The timestamp extractor of source "${source.name}" threw: ${messageOf(err)}`,
          { ...this.errorContext(), cause: err },
        );
      }
    }
    if (typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp >= 0)
      return timestamp;
    const problem = `${origin} gave ${String(timestamp)}, not a valid timestamp (an integer >= 0, ms since the epoch)`;
    if (this.env.options.invalidTimestampHandler === 'skip') {
      this.env.log(
        'warn',
        `skipping a record: ${problem} [task ${this.id}, ${record.topic}-${record.partition}@${record.offset}]`,
        recordFields(record),
      );
      return undefined;
    }
    throw new StreamsFatalError(
      `Invalid timestamp: ${problem}; set invalidTimestampHandler: 'skip' to skip such records`,
      this.errorContext(),
    );
  }

  private onDeserializationError(record: ConsumedRecord, err: unknown): void {
    const handler = this.env.options.deserializationErrorHandler;
    const reason = messageOf(err);
    if (handler === 'fail') {
      throw new DeserializationError(`Cannot deserialize a record: ${reason}`, {
        ...this.errorContext(),
        cause: err,
      });
    }
    if (handler === 'skip') {
      this.env.log(
        'warn',
        `skipping a record that cannot be deserialized [task ${this.id}, ${record.topic}-${record.partition}@${record.offset}]: ${reason}`,
        recordFields(record),
      );
      return;
    }
    // Dead letter: the raw record, inside the same transaction as the offsets that skip it.
    this.collector.sendDeadLetter(handler.deadLetterTopic, record, reason, this.scope);
  }

  private runNode(name: string, record: StreamRecord<unknown, unknown>): void | Promise<void> {
    const node: TopologyNode | undefined = this.subtopology.nodes.get(name);
    if (node === undefined)
      throw new StreamsFatalError(`Unknown node "${name}"`, this.errorContext());
    if (node.kind === 'processor') return this.runProcessor(node, record);
    if (node.kind === 'sink') return this.runSink(node, record);
  }

  private runSink(sink: SinkNode, record: StreamRecord<unknown, unknown>): void | Promise<void> {
    const pending = this.collector.send(sink, record, this.scope);
    // A full outbox is sent inside the open transaction, so memory stays bounded.
    if (this.collector.size < this.env.options.maxBatchRecords) return pending;
    return pending === undefined ? this.flush() : pending.then(() => this.flush());
  }

  private runProcessor(
    node: ProcessorNode,
    record: StreamRecord<unknown, unknown>,
  ): void | Promise<void> {
    const processor = this.processors.get(node.name)!;
    const context = this.contexts.get(node.name)!;
    context.enter();
    let result: void | Promise<void>;
    try {
      result = processor.process(record);
    } catch (err) {
      context.abandon();
      throw this.processorError(node.name, err);
    }
    if (result === undefined || typeof (result as { then?: unknown }).then !== 'function')
      return context.settle();
    return Promise.resolve(result).then(
      () => context.settle(),
      (err: unknown) => {
        context.abandon();
        throw this.processorError(node.name, err);
      },
    );
  }

  private processorError(node: string, err: unknown): StreamsError {
    if (err instanceof StreamsError) return err;
    return new ProcessorError(node, err, this.errorContext());
  }

  // --- the commit cycle ---

  private beginIfNeeded(): void {
    if (this.transactionOpen) return;
    this.output.begin();
    this.stateManager.begin();
    this.transactionStartedAt = this.env.now();
    this.transactionOpen = true;
  }

  private async flush(): Promise<void> {
    await this.collector.flush();
    this.checkUsable();
  }

  private async commitNow(): Promise<void> {
    if (!this.transactionOpen) {
      this.commitRequested = false;
      return;
    }
    this.checkUsable();
    const started = performance.now();
    const scope = this.telemetry.commit();
    let outcome: TransactionOutcome | undefined;
    try {
      await this.collector.flush();
      this.checkUsable();
      await this.output.commit(this.offsetsToCommit());
      outcome = 'committed';
      // Only now is the local state allowed to move: SQLite holds committed state only.
      faultPoint('after-kafka-commit-before-store-commit');
      await this.stateManager.commit();
    } catch (err) {
      const error = this.translate(err);
      this.transactionEnded(scope, outcome ?? outcomeOf(error), error);
      throw error;
    }
    this.transactionEnded(scope, outcome);
    this.committedPositions = new Map(this.positions);
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
    return [...this.positions].map(([key, offset]) => ({ ...parseTopicPartitionKey(key), offset }));
  }

  /** Tells telemetry how the transaction ended: its commit span and its records' deliveries. */
  private transactionEnded(
    scope: ReturnType<TaskTelemetry['commit']>,
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
    this.collector.transactionEnded(outcome, error);
  }

  // --- punctuation ---

  private async punctuate(type: PunctuationType, now: number): Promise<void> {
    this.checkUsable();
    const due = this.punctuation.due(type, now);
    if (due.length > 0) await this.fire(due, now);
  }

  private async fire(due: readonly Schedule[], time: number): Promise<void> {
    const saved = {
      topic: this.curTopic,
      partition: this.curPartition,
      offset: this.curOffset,
      timestamp: this.curTimestamp,
      headers: this.curHeaders,
    };
    for (const s of due) {
      if (s.cancelled) continue;
      this.beginIfNeeded();
      this.curTopic = undefined;
      this.curPartition = undefined;
      this.curOffset = undefined;
      this.curTimestamp = time;
      this.curHeaders = EMPTY_HEADERS;
      const savedScope = this.scope;
      this.scope = this.telemetry.punctuate(s.node, s.type, time);
      const context = this.contexts.get(s.node);
      context?.enter();
      try {
        await s.callback(time);
        const pending = context?.settle();
        if (pending !== undefined) await pending;
        this.scope?.end();
      } catch (err) {
        context?.abandon();
        this.scope?.end(err);
        throw this.processorError(s.node, err);
      } finally {
        this.scope = savedScope;
        this.curTopic = saved.topic;
        this.curPartition = saved.partition;
        this.curOffset = saved.offset;
        this.curTimestamp = saved.timestamp;
        this.curHeaders = saved.headers;
      }
      this.checkUsable();
    }
  }

  // --- failure and close ---

  /** Runs work; any failure closes the task dirty and surfaces as a classified StreamsError. */
  private async guard(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      const error = this.translate(err);
      if (this.transactionOpen)
        this.transactionEnded(this.telemetry.commit(), outcomeOf(error), error);
      await this.closeDirty();
      throw error;
    }
  }

  /** A late forward, or the manager's giving up on the task, fails the current step. */
  private checkUsable(): void {
    if (this.abandoned) throw this.abandoned;
    if (this.pendingFailure) throw this.pendingFailure;
  }

  private translate(err: unknown): StreamsError {
    return translateFailure(err, this.errorContext());
  }

  /** Waits for the previous incarnation to release the stores; forces it after the job limit. */
  private async awaitPrevious(): Promise<void> {
    const previous = this.previous;
    if (previous === undefined || previous.state === 'CLOSED') return;
    const limitMs = jobLimitMs(this.env.options.transactionTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      previous.closed.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), limitMs))),
    ]).finally(() => clearTimeout(timer));
    if (timedOut) {
      this.env.log(
        'warn',
        `task ${this.id}: its previous incarnation did not close within ${limitMs} ms after being fenced; releasing its stores`,
      );
      previous.forceClose();
    }
  }

  private async closeOutput(): Promise<void> {
    if (this.outputClosed) return;
    this.outputClosed = true;
    await this.output.close().catch(() => undefined);
  }

  private async closeResources(): Promise<void> {
    const previous = this.stateValue;
    this.stateValue = 'CLOSED';
    if (previous === 'RUNNING' || previous === 'RESTORING') {
      for (const processor of this.processors.values())
        await Promise.resolve()
          .then(() => processor.close?.())
          .catch(() => undefined);
    }
    this.processors.clear();
    this.contexts.clear();
    await this.stateManager.close();
    await this.collector.settled();
    this.collector.transactionEnded('aborted');
    await this.closeOutput();
    this.resolveClosed();
  }

  private transition(to: TaskState): void {
    if (!TASK_TRANSITIONS[this.stateValue].includes(to))
      throw new Error(`task ${this.id}: cannot go from ${this.stateValue} to ${to}`);
    this.stateValue = to;
  }

  private sourcePartitions(): SourcePartition[] {
    return this.subtopology.sourceTopics.map((topic) => ({
      topic,
      partition: this.partition,
      reset: this.subtopology.sourceByTopic.get(topic)?.offsetReset ?? 'earliest',
    }));
  }
}

/** How long one job of a task may run before the task manager gives up on it. */
export function jobLimitMs(transactionTimeoutMs: number): number {
  return Math.max(30_000, 2 * transactionTimeoutMs);
}

/** A fenced task's transaction was aborted by its new owner's InitProducerId; any other failure aborts it. */
function outcomeOf(error: StreamsError): TransactionOutcome {
  return error instanceof TaskMigratedError ? 'fenced' : 'aborted';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A record's place as log fields (offsets as decimal strings, as in StreamsErrorContext). */
function recordFields(record: ConsumedRecord): LogFields {
  return { topic: record.topic, partition: record.partition, offset: record.offset.toString() };
}
