/**
 * Global state (Kafka Streams' GlobalStateManagerImpl + GlobalStreamThread): the stores of a
 * topology's global stores (`Topology.addGlobalStore`, the DSL's `globalTable`), one copy per
 * worker, each filled from every partition of its topic and readable by every task.
 *
 * - No changelog: the topic is the log. Reads are read_committed (invariant 6), with the
 *   client adapter's partition reader; no consumer group is involved.
 * - `start()` restores every store to the topic's end offsets before any task runs, as Kafka
 *   Streams bootstraps its global stores before the stream threads start.
 * - `poll()` applies what was committed since, one batch per SQLite transaction, so a task
 *   (same process, one thread) never sees half a batch. The app calls it from its global
 *   loop, the TopologyTestDriver after every piped record. Global tables are not
 *   time-synchronized with the tasks, as in Kafka Streams.
 * - Positions are kept in `${stateDir}/${applicationId}/global/.checkpoint` (topic-partition →
 *   next offset), written after each committed batch. A crash between the SQLite commit and
 *   the checkpoint only replays a batch again, which a table's upserts make harmless. A
 *   persistent store without a checkpoint, or one behind the log start or past the log end
 *   (the topic was truncated or recreated), is wiped and rebuilt from the topic's start, with a
 *   log line saying why; an in-memory store always is.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConsumedRecord, KafkaClient } from '../client/index.ts';
import {
  DeserializationError,
  ProcessorError,
  StreamsError,
  StreamsFatalError,
  type StreamsErrorContext,
} from '../errors.ts';
import { taskStateDir, topicPartitionKey } from '../names.ts';
import type { CompiledStreamsAppOptions } from '../options.ts';
import type {
  Cancellable,
  Processor,
  ProcessorContext,
  Record as StreamRecord,
  RecordHeaders,
  StateStore,
} from '../processor.ts';
import type { GlobalStoreSpec } from '../topology.ts';

/** The "task" id global stores are opened with, and their directory's name (as Kafka Streams'). */
export const GLOBAL_TASK_ID = 'global';
const CHECKPOINT_FILE = '.checkpoint';

export interface GlobalStateDeps {
  options: CompiledStreamsAppOptions;
  client: Pick<KafkaClient, 'admin' | 'readPartition'>;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

interface GlobalStoreState {
  readonly spec: GlobalStoreSpec;
  readonly store: StateStore;
  readonly processor: Processor;
  readonly context: GlobalProcessorContext;
  /** Next offset to apply, per partition of the topic. */
  readonly positions: Map<number, bigint>;
}

export class GlobalStateManager {
  readonly #specs: readonly GlobalStoreSpec[];
  readonly #deps: GlobalStateDeps;
  readonly #states = new Map<string, GlobalStoreState>();
  readonly #dir: string;
  #closed = false;
  /** Records applied per store since start (restore included), for tests and logs. */
  readonly applied = new Map<string, number>();

  constructor(specs: readonly GlobalStoreSpec[], deps: GlobalStateDeps) {
    this.#specs = specs;
    this.#deps = deps;
    this.#dir = taskStateDir(deps.options.stateDir, deps.options.applicationId, GLOBAL_TASK_ID);
  }

  /** A global store by name, once started (what processors' getStateStore resolves). */
  store(name: string): StateStore | undefined {
    return this.#states.get(name)?.store;
  }

  get storeNames(): string[] {
    return this.#specs.map((s) => s.storeName);
  }

  /** The next offset per partition of a store's topic (for tests and diagnostics). */
  positions(name: string): ReadonlyMap<number, bigint> {
    return this.#states.get(name)?.positions ?? new Map();
  }

  /**
   * Opens every global store and restores it to the end of its topic (read_committed end
   * offsets as of the call). Resolves once every store is current; tasks may start then.
   */
  async start(): Promise<void> {
    if (this.#specs.length === 0) return;
    mkdirSync(this.#dir, { recursive: true });
    const checkpoint = this.#readCheckpoint();
    const { applicationId } = this.#deps.options;
    for (const spec of this.#specs) {
      const store = spec.builder.build();
      const processor = spec.processor();
      const context = new GlobalProcessorContext(applicationId, spec, store);
      const state: GlobalStoreState = {
        spec,
        store,
        processor,
        context,
        positions: new Map(),
      };
      this.#states.set(spec.storeName, state); // registered first, so close() closes it
      await store.init({ applicationId, taskId: GLOBAL_TASK_ID, stateDir: this.#dir });
      await this.#resume(state, checkpoint);
      await processor.init?.(context as ProcessorContext<never, never>);
    }
    await this.poll();
    for (const spec of this.#specs) {
      this.#deps.log(
        'info',
        `global store ${spec.storeName} restored from ${spec.topic} (${this.applied.get(spec.storeName) ?? 0} records)`,
      );
    }
  }

  /**
   * Applies every record committed on the stores' topics since the last poll, up to each
   * partition's read_committed end as of this call. Returns how many records it applied.
   */
  async poll(): Promise<number> {
    let total = 0;
    for (const state of this.#states.values()) {
      if (this.#closed) break;
      const { topic } = state.spec;
      const ends = await this.#deps.client.admin.endOffsets(topic, 'read_committed');
      for (const [partition, end] of [...ends].sort((a, b) => a[0] - b[0])) {
        const from = state.positions.get(partition) ?? (await this.#logStart(topic, partition));
        if (from >= end) {
          state.positions.set(partition, from);
          continue;
        }
        for await (const batch of this.#deps.client.readPartition(topic, partition, from, end)) {
          if (this.#closed) return total;
          total += this.#apply(state, partition, batch);
          state.positions.set(partition, batch[batch.length - 1]!.offset + 1n);
          this.#writeCheckpoint();
        }
        // Markers and aborted records are never yielded: the committed end is the position.
        if (state.positions.get(partition) !== end) {
          state.positions.set(partition, end);
          this.#writeCheckpoint();
        }
      }
    }
    return total;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const state of this.#states.values()) {
      await Promise.resolve()
        .then(() => state.processor.close?.())
        .catch(() => undefined);
      try {
        state.store.rollbackTransaction?.();
      } catch {
        // closing rolls back too
      }
      await Promise.resolve()
        .then(() => state.store.close())
        .catch(() => undefined);
    }
    this.#states.clear();
  }

  /** Where a store resumes: its checkpoint if it can be trusted, else the topic's start (wiped). */
  async #resume(state: GlobalStoreState, checkpoint: Map<string, bigint>): Promise<void> {
    const { spec, store } = state;
    const [beginning, end] = await Promise.all([
      this.#deps.client.admin.beginningOffsets(spec.topic),
      this.#deps.client.admin.endOffsets(spec.topic, 'read_committed'),
    ]);
    let reason: string | undefined;
    const saved = new Map<number, bigint>();
    for (const partition of end.keys()) {
      const offset = checkpoint.get(topicPartitionKey(spec.topic, partition));
      if (offset !== undefined) saved.set(partition, offset);
    }
    if (!store.persistent) {
      reason = undefined; // an in-memory store starts empty every time: nothing to explain
      saved.clear();
    } else if (saved.size === 0) {
      reason = 'no checkpoint of its topic offsets (a new or emptied state directory)';
    } else {
      for (const [partition, offset] of saved) {
        const first = beginning.get(partition) ?? 0n;
        const last = end.get(partition) ?? 0n;
        if (offset < first) {
          reason = `its checkpoint ${offset} of ${spec.topic}-${partition} is before the log start ${first} (records were deleted)`;
        } else if (offset > last) {
          reason = `its checkpoint ${offset} of ${spec.topic}-${partition} is past the log end ${last} (the topic was deleted or recreated)`;
        }
        if (reason) break;
      }
    }
    if (!store.persistent || reason !== undefined) {
      if (reason !== undefined && [...end.values()].some((e) => e > 0n)) {
        this.#deps.log(
          'warn',
          `rebuilding global store ${spec.storeName} from the start of ${spec.topic}: ${reason}`,
        );
      }
      store.wipe?.();
      saved.clear();
    }
    for (const partition of end.keys()) {
      state.positions.set(partition, saved.get(partition) ?? beginning.get(partition) ?? 0n);
    }
  }

  async #logStart(topic: string, partition: number): Promise<bigint> {
    // A partition added to the topic after start: read it from its beginning.
    return (await this.#deps.client.admin.beginningOffsets(topic)).get(partition) ?? 0n;
  }

  /** Applies one batch in one store transaction; nothing of it stays if a record fails. */
  #apply(state: GlobalStoreState, partition: number, batch: readonly ConsumedRecord[]): number {
    const { spec, store, processor, context } = state;
    let applied = 0;
    store.beginTransaction?.();
    try {
      for (const record of batch) {
        const where: StreamsErrorContext = {
          taskId: GLOBAL_TASK_ID,
          topic: record.topic,
          partition,
          offset: record.offset.toString(),
        };
        const input = this.#deserialize(spec, record, where);
        if (input === undefined) continue;
        context.enter(record, input.timestamp, where);
        try {
          const result = processor.process(input);
          if (typeof (result as { then?: unknown } | undefined)?.then === 'function') {
            throw new StreamsFatalError(
              `The processor of global store "${spec.storeName}" returned a promise: a global store's processor must be synchronous (tasks read the store between records)`,
              where,
            );
          }
        } catch (err) {
          if (err instanceof StreamsError) throw err;
          throw new ProcessorError(spec.processorName, err, where);
        } finally {
          context.leave();
        }
        applied++;
      }
      store.commitTransaction?.(undefined);
    } catch (err) {
      try {
        store.rollbackTransaction?.();
      } catch {
        // the store is closed with the app
      }
      throw err;
    }
    this.applied.set(spec.storeName, (this.applied.get(spec.storeName) ?? 0) + applied);
    return applied;
  }

  #deserialize(
    spec: GlobalStoreSpec,
    record: ConsumedRecord,
    where: StreamsErrorContext,
  ): StreamRecord<unknown, unknown> | undefined {
    const { deserializationErrorHandler, invalidTimestampHandler } = this.#deps.options;
    const headers = record.headers as RecordHeaders;
    let key: unknown;
    let value: unknown;
    try {
      key = spec.keySerde.deserialize(record.topic, record.key, headers);
      value = spec.valueSerde.deserialize(record.topic, record.value, headers);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (deserializationErrorHandler === 'fail') {
        throw new DeserializationError(
          `Cannot deserialize a record of a global store's topic: ${reason}`,
          {
            ...where,
            cause: err,
          },
        );
      }
      // The global thread has no transaction to write a dead letter in: it skips, and says so.
      this.#deps.log(
        'warn',
        `global store ${spec.storeName}: skipping a record that cannot be deserialized${typeof deserializationErrorHandler === 'object' ? ' (not dead-lettered: global stores have no transaction)' : ''} [${record.topic}-${where.partition}@${where.offset}]: ${reason}`,
      );
      return undefined;
    }
    let timestamp = record.timestamp;
    if (spec.timestampExtractor) {
      try {
        timestamp = spec.timestampExtractor({ key, value, timestamp, headers }, -1);
      } catch (err) {
        throw new StreamsFatalError(
          `The timestamp extractor of global store "${spec.storeName}" threw: ${err instanceof Error ? err.message : String(err)}`,
          { ...where, cause: err },
        );
      }
    }
    if (!(typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp >= 0)) {
      const problem = `global store ${spec.storeName}: timestamp ${String(timestamp)} is not an integer >= 0`;
      if (invalidTimestampHandler === 'skip') {
        this.#deps.log(
          'warn',
          `skipping a record: ${problem} [${record.topic}-${where.partition}@${where.offset}]`,
        );
        return undefined;
      }
      throw new StreamsFatalError(`Invalid timestamp: ${problem}`, where);
    }
    return { key, value, timestamp, headers };
  }

  #readCheckpoint(): Map<string, bigint> {
    const offsets = new Map<string, bigint>();
    let text: string;
    try {
      text = readFileSync(join(this.#dir, CHECKPOINT_FILE), 'utf8');
    } catch {
      return offsets; // none yet
    }
    try {
      const parsed = JSON.parse(text) as { version?: number; offsets?: Record<string, string> };
      if (parsed.version !== 1 || typeof parsed.offsets !== 'object' || parsed.offsets === null) {
        throw new Error(`unknown layout`);
      }
      for (const [key, offset] of Object.entries(parsed.offsets)) offsets.set(key, BigInt(offset));
    } catch (err) {
      this.#deps.log(
        'warn',
        `ignoring the global checkpoint ${join(this.#dir, CHECKPOINT_FILE)}: ${err instanceof Error ? err.message : String(err)}`,
      );
      offsets.clear();
    }
    return offsets;
  }

  #writeCheckpoint(): void {
    const offsets: Record<string, string> = {};
    for (const state of this.#states.values()) {
      if (!state.store.persistent) continue;
      for (const [partition, offset] of state.positions)
        offsets[topicPartitionKey(state.spec.topic, partition)] = offset.toString();
    }
    const path = join(this.#dir, CHECKPOINT_FILE);
    // Write then rename: a crash leaves the old checkpoint or the new one, never half of one.
    writeFileSync(`${path}.tmp`, JSON.stringify({ version: 1, offsets }));
    renameSync(`${path}.tmp`, path);
  }
}

/** What a global store's update processor sees: its record, its store, nothing to forward to. */
class GlobalProcessorContext implements ProcessorContext<unknown, unknown> {
  #record: ConsumedRecord | undefined;
  #timestamp = -1;
  #where: StreamsErrorContext = {};

  constructor(
    readonly applicationId: string,
    private readonly spec: GlobalStoreSpec,
    private readonly globalStore: StateStore,
  ) {}

  readonly taskId = GLOBAL_TASK_ID;
  get topic(): string | undefined {
    return this.#record?.topic;
  }
  get partition(): number | undefined {
    return this.#record?.partition;
  }
  get offset(): string | undefined {
    return this.#record?.offset.toString();
  }
  get timestamp(): number {
    return this.#timestamp;
  }
  get headers(): RecordHeaders {
    return (this.#record?.headers ?? {}) as RecordHeaders;
  }

  enter(record: ConsumedRecord, timestamp: number, where: StreamsErrorContext): void {
    this.#record = record;
    this.#timestamp = timestamp;
    this.#where = where;
  }

  leave(): void {
    this.#record = undefined;
  }

  forward(): Promise<void> {
    throw new StreamsFatalError(
      `The processor of global store "${this.spec.storeName}" forwarded a record: a global store's processor only writes its store (Kafka Streams' global processors have no children)`,
      this.#where,
    );
  }

  getStateStore<S extends StateStore = StateStore>(name: string): S {
    if (name !== this.spec.storeName) {
      throw new StreamsFatalError(
        `The processor of global store "${this.spec.storeName}" has no state store "${name}"`,
        this.#where,
      );
    }
    return this.globalStore as S;
  }

  schedule(): Cancellable {
    throw new StreamsFatalError(
      `The processor of global store "${this.spec.storeName}" cannot schedule punctuations`,
      this.#where,
    );
  }

  commit(): void {
    // Every batch is committed as it is applied.
  }

  droppedRecord(): void {
    // A global store's processor dropping a record needs no metric of its own.
  }
}
