/**
 * TopologyTestDriver: tests a topology in milliseconds without a broker, on
 * the production task code. As Kafka Streams' driver builds the real task,
 * state manager and record collector on mock clients, this one builds the
 * real `StreamTask` (processors, processor context, punctuation, stores,
 * changelogging, restore, deserialization handlers, the commit cycle) on an
 * in-memory Kafka (testkit/internals/memory-kafka.ts). Only the Kafka side
 * is swapped; there is no second implementation of processing semantics.
 *
 * What it models: one partition (0) per topic, so one task per sub-topology;
 * a commit after every piped record (and after every wall-clock
 * punctuation), so output topics read committed records; records a
 * sub-topology writes to a topic another sub-topology reads are processed
 * there too; wall-clock time is a mocked clock that only moves when the test
 * moves it; global stores (`Topology.addGlobalStore`, the DSL's `globalTable`)
 * are filled from their topics as soon as a record is piped to them, before
 * any task record is processed. What it does not: several partitions,
 * rebalances, fencing by another worker, broker failures, commit intervals.
 *
 * @example
 * ```ts
 * const driver = new TopologyTestDriver(topology);
 * t.teardown(() => driver.close());
 * const input = driver.createInputTopic('words', Serdes.string(), Serdes.string());
 * const output = driver.createOutputTopic('word-counts', Serdes.string(), Serdes.int32());
 * await input.pipeInput('hello', 'hello');
 * t.same(output.readKeyValue(), { key: 'hello', value: 1 });
 * ```
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsumedRecord } from '../framework/client/index.ts';
import { StreamsError } from '../framework/errors.ts';
import { changelogTopic, taskId, topicPartitionKey as tpKey } from '../framework/names.ts';
import {
  compileStreamsAppOptions,
  type CompiledStreamsAppOptions,
  type DeserializationErrorHandler,
  type InvalidTimestampHandler,
} from '../framework/options.ts';
import type { RecordHeaders, StateStore } from '../framework/processor.ts';
import { GlobalStateManager } from '../framework/runtime/global-state.ts';
import { SerialQueue } from '../framework/runtime/serial-queue.ts';
import { StreamTask } from '../framework/runtime/stream-task.ts';
import { createTaskEnvironment } from '../framework/runtime/task-environment.ts';
import type { Serde } from '../framework/serdes.ts';
import type { BuiltTopology, Subtopology, Topology } from '../framework/topology.ts';
import type { KeyValueStore } from '../stores/key-value-store.ts';
import { isSessionStore, type SessionStore } from '../stores/session-store.ts';
import {
  isTimestampedKeyValueStore,
  type TimestampedKeyValueStore,
} from '../stores/timestamped-key-value-store.ts';
import {
  isTimestampedWindowStore,
  type TimestampedWindowStore,
} from '../stores/timestamped-window-store.ts';
import type { WindowStore } from '../stores/window-store.ts';
import { MemoryKafka, MemoryKafkaClient } from './internals/memory-kafka.ts';

export interface TopologyTestDriverOptions {
  /** Initial wall-clock time (ms since the epoch) of the driver's mocked clock. @default 0 */
  initialWallClockTime?: number | Date;
  /** Prefixes changelog topics and transactional ids, as in production. @default 'topology-test-driver' */
  applicationId?: string;
  /**
   * Where the driver creates its own temporary state directory for persistent (SQLite) stores;
   * the driver removes that directory on close().
   * @default os.tmpdir()
   */
  stateDir?: string;
  /** As in StreamsAppOptions. @default 'fail' */
  deserializationErrorHandler?: DeserializationErrorHandler;
  /** As in StreamsAppOptions. @default 'fail' */
  invalidTimestampHandler?: InvalidTimestampHandler;
  /** Receives the task's log lines (e.g. a record skipped by the skip handler). @default discarded */
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

/** Headers of a piped record. */
export type TestHeaders = Record<string, string | Buffer>;

/** A record to pipe; without a timestamp it gets the input topic's current time. */
export interface TestInputRecord<K, V> {
  key?: K | null;
  value: V | null;
  timestamp?: number;
  headers?: TestHeaders;
}

/** A record read from an output topic, as a read_committed consumer receives it. */
export interface TestRecord<K, V> {
  key: K | null;
  value: V | null;
  timestamp: number;
  /** Header values are bytes, as on the wire. */
  headers: Record<string, Buffer>;
}

export interface TestKeyValue<K, V> {
  key: K | null;
  value: V | null;
}

export interface TestInputTopicOptions {
  /** Timestamp of the first record piped without one. @default the driver's initial wall-clock time */
  startTimestamp?: number;
  /** How far the topic's time moves after each record piped without a timestamp. @default 0 */
  autoAdvanceMs?: number;
}

/** Piping to a topic the topology does not read, or reading one it does not write. */
export class UnknownTopicError extends StreamsError {
  constructor(
    message: string,
    topic: string,
    /** The topics the driver does know for this use. */
    readonly knownTopics: readonly string[],
  ) {
    super(message, { topic });
  }
}

/** One running task of the driver: a sub-topology on partition 0. */
interface DriverTask {
  readonly subtopology: Subtopology;
  task: StreamTask;
  /** Next offset to fetch per source partition (the consumer position the task seeks). */
  fetch: Map<string, bigint>;
}

const PARTITION = 0;

export class TopologyTestDriver {
  readonly #topology: BuiltTopology;
  readonly #options: CompiledStreamsAppOptions;
  readonly #kafka: MemoryKafka;
  readonly #client: MemoryKafkaClient;
  readonly #processorInstances = new WeakSet<object>();
  readonly #stateDir: string;
  readonly #log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  readonly #queue = new SerialQueue();
  readonly #tasks: DriverTask[] = [];
  /** The global stores, filled from their topics before any task record is processed. */
  #global: GlobalStateManager | undefined;
  /** Next offset to read per output topic partition, shared by every TestOutputTopic of the topic. */
  readonly #readPositions = new Map<string, bigint>();
  readonly #initialTime: number;
  #now: number;
  #started = false;
  #closed = false;
  /** Set when a task could not be (re)built: every later call fails with it. */
  #failure: unknown;
  readonly #ready: Promise<void>;

  constructor(topology: Topology, options: TopologyTestDriverOptions = {}) {
    const time = options.initialWallClockTime ?? 0;
    this.#initialTime = time instanceof Date ? time.getTime() : time;
    if (!Number.isSafeInteger(this.#initialTime)) {
      throw new RangeError(`initialWallClockTime must be an integer (ms), got ${String(time)}`);
    }
    this.#now = this.#initialTime;
    this.#log = options.log ?? (() => undefined);
    this.#stateDir = mkdtempSync(join(options.stateDir ?? tmpdir(), 'streamtx-driver-'));
    try {
      this.#options = compileStreamsAppOptions({
        applicationId: options.applicationId ?? 'topology-test-driver',
        brokers: ['topology-test-driver.invalid:9092'], // never contacted
        stateDir: this.#stateDir,
        ...(options.deserializationErrorHandler === undefined
          ? {}
          : { deserializationErrorHandler: options.deserializationErrorHandler }),
        ...(options.invalidTimestampHandler === undefined
          ? {}
          : { invalidTimestampHandler: options.invalidTimestampHandler }),
        // The driver hands a task the next record in timestamp order itself (#nextInput), as
        // the runtime's partition group picks it: the task must not wait for other partitions.
        maxTaskIdleMs: -1,
      });
      this.#topology = topology.build(this.#options.applicationId);
    } catch (err) {
      rmSync(this.#stateDir, { recursive: true, force: true });
      throw err;
    }
    // Every topic has one partition: the default partitioner and a custom one both get 1.
    this.#kafka = new MemoryKafka(
      () => 1,
      () => this.#now,
    );
    this.#client = new MemoryKafkaClient(this.#kafka);
    this.#ready = this.#queue.run(async () => {
      if (this.#topology.globalStores.length > 0) {
        this.#global = new GlobalStateManager(this.#topology.globalStores, {
          options: this.#options,
          client: this.#client,
          log: (level, message) => this.#log(level, message),
        });
        await this.#global.start();
      }
      for (const subtopology of this.#topology.subtopologies) {
        const driverTask: DriverTask = {
          subtopology,
          task: undefined as unknown as StreamTask,
          fetch: new Map(),
        };
        this.#tasks.push(driverTask);
        await this.#build(driverTask);
      }
      this.#started = true;
    });
    // A failed start surfaces from the next call (or ready()), never as an unhandled rejection.
    this.#ready.catch((err: unknown) => void (this.#failure ??= err));
  }

  /** Resolves once every task is initialised (stores open, processors' init() run); rejects if one failed. */
  async ready(): Promise<void> {
    await this.#ready;
  }

  /** The mocked wall-clock time (ms). */
  get wallClockTime(): number {
    return this.#now;
  }

  /** Topics the topology reads (pipe to these), global stores' topics included. */
  get inputTopics(): string[] {
    return [
      ...new Set([
        ...this.#topology.subtopologies.flatMap((s) => s.sourceTopics),
        ...this.#topology.globalStores.map((g) => g.topic),
      ]),
    ].sort();
  }

  /** Topics the driver can read: sink topics, the dead-letter topic, changelog topics. */
  get outputTopics(): string[] {
    const topics = new Set(this.#topology.subtopologies.flatMap((s) => s.sinkTopics));
    const handler = this.#options.deserializationErrorHandler;
    if (typeof handler === 'object') topics.add(handler.deadLetterTopic);
    for (const s of this.#topology.subtopologies)
      for (const b of s.stores.values())
        if (b.loggingEnabled) topics.add(changelogTopic(this.#options.applicationId, b.name));
    return [...topics].sort();
  }

  createInputTopic<K, V>(
    name: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    options: TestInputTopicOptions = {},
  ): TestInputTopic<K, V> {
    this.#checkOpen();
    const known = this.inputTopics;
    if (!known.includes(name)) {
      throw new UnknownTopicError(
        `The topology does not read topic "${name}"; it reads: ${known.join(', ')}`,
        name,
        known,
      );
    }
    return new TestInputTopic(
      name,
      keySerde,
      valueSerde,
      options.startTimestamp ?? this.#initialTime,
      options.autoAdvanceMs ?? 0,
      (record) => this.#pipe(name, record),
    );
  }

  createOutputTopic<K, V>(
    name: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): TestOutputTopic<K, V> {
    this.#checkOpen();
    const known = this.outputTopics;
    // A sink that picks its topic per record may write any topic.
    const extracted = this.#topology.subtopologies.some((s) =>
      [...s.nodes.values()].some((n) => n.kind === 'sink' && n.topicExtractor !== undefined),
    );
    if (!known.includes(name) && !extracted) {
      throw new UnknownTopicError(
        `The topology does not write topic "${name}"; it writes: ${known.join(', ') || 'no topic'}`,
        name,
        known,
      );
    }
    return new TestOutputTopic(name, keySerde, valueSerde, {
      next: () => this.#readNext(name),
      size: () => this.#unread(name),
    });
  }

  /**
   * Moves the mocked wall clock forward and fires the wall-clock punctuators that are due
   * (each task commits afterwards, as after a piped record).
   */
  advanceWallClockTime(ms: number): Promise<void> {
    if (!(Number.isSafeInteger(ms) && ms >= 0)) {
      return Promise.reject(
        new RangeError(`advanceWallClockTime: expected an integer >= 0 ms, got ${ms}`),
      );
    }
    return this.#run(async () => {
      this.#now += ms;
      for (const driverTask of this.#tasks) {
        await this.#guard(driverTask, undefined, async () => {
          await driverTask.task.punctuateWallClock(this.#now);
          await driverTask.task.commit();
        });
      }
      await this.#drain();
    });
  }

  /** A key-value store of the topology, as its task holds it (committed state between calls). */
  getKeyValueStore<K, V>(name: string): KeyValueStore<K, V> {
    const store = this.#store(name);
    if (!isKeyValueStore(store)) {
      throw new StreamsError(`State store "${name}" is not a key-value store`);
    }
    return store as KeyValueStore<K, V>;
  }

  /** A window store of the topology, as its task holds it. */
  getWindowStore<K, V>(name: string): WindowStore<K, V> {
    const store = this.#store(name);
    if (!isWindowStore(store)) {
      throw new StreamsError(`State store "${name}" is not a window store`);
    }
    return store as WindowStore<K, V>;
  }

  /** A timestamped key-value store (values with their timestamps), as its task holds it. */
  getTimestampedKeyValueStore<K, V>(name: string): TimestampedKeyValueStore<K, V> {
    const store = this.#store(name);
    if (!isTimestampedKeyValueStore(store)) {
      throw new StreamsError(`State store "${name}" is not a timestamped key-value store`);
    }
    return store as TimestampedKeyValueStore<K, V>;
  }

  /** A timestamped window store, as its task holds it. */
  getTimestampedWindowStore<K, V>(name: string): TimestampedWindowStore<K, V> {
    const store = this.#store(name);
    if (!isTimestampedWindowStore(store)) {
      throw new StreamsError(`State store "${name}" is not a timestamped window store`);
    }
    return store as TimestampedWindowStore<K, V>;
  }

  /** A session store, as its task holds it. */
  getSessionStore<K, V>(name: string): SessionStore<K, V> {
    const store = this.#store(name);
    if (!isSessionStore(store)) {
      throw new StreamsError(`State store "${name}" is not a session store`);
    }
    return store as SessionStore<K, V>;
  }

  /** Every store of every task, and every global store, by name. */
  getAllStateStores(): Map<string, StateStore> {
    this.#checkStarted();
    const global = this.#global;
    return new Map([
      ...this.#tasks.flatMap((t) =>
        [...t.subtopology.stores.keys()].flatMap((name) => {
          const store = t.task.getStore(name);
          return store ? [[name, store] as const] : [];
        }),
      ),
      ...(global?.storeNames ?? []).flatMap((name) => {
        const store = global?.store(name);
        return store ? [[name, store] as const] : [];
      }),
    ]);
  }

  /**
   * Closes every task (a final commit, then processors' close(), then stores) and removes the
   * driver's state directory. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue
      .run(async () => {
        let first: unknown;
        for (const { task } of this.#tasks) {
          try {
            await task.close();
          } catch (err) {
            first ??= err;
          }
        }
        await this.#global?.close();
        if (first !== undefined) throw first;
      })
      .finally(() => rmSync(this.#stateDir, { recursive: true, force: true }));
  }

  // --- internals ---

  /** Runs driver work in call order, after start-up, so unawaited calls still run one by one. */
  #run(work: () => Promise<void>): Promise<void> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#queue.run(async () => {
      if (this.#failure !== undefined) throw this.#failure;
      await work();
    });
  }

  #pipe(topic: string, record: ProducedInput): Promise<void> {
    return this.#run(async () => {
      this.#kafka.append(topic, [record]);
      await this.#drain();
    });
  }

  /**
   * Processes every committed record not yet processed, one at a time, committing after each,
   * until no task has input left (a record written to a topic another sub-topology reads is
   * processed there in a later round).
   */
  async #drain(): Promise<void> {
    for (;;) {
      // Global stores first, as Kafka Streams' driver updates them as soon as a record is piped.
      await this.#global?.poll();
      const next = this.#nextInput();
      if (!next) return;
      const [driverTask, record] = next;
      const key = tpKey(record.topic, record.partition);
      await this.#guard(driverTask, record, async () => {
        await driverTask.task.process([record]);
        await driverTask.task.commit();
      });
      driverTask.fetch.set(key, record.offset + 1n);
    }
  }

  /** The next record to process: of the first task with input, its oldest head record (as Kafka Streams picks by timestamp). */
  #nextInput(): [DriverTask, ConsumedRecord] | undefined {
    for (const driverTask of this.#tasks) {
      let best: ConsumedRecord | undefined;
      for (const topic of driverTask.subtopology.sourceTopics) {
        const from = driverTask.fetch.get(tpKey(topic, PARTITION)) ?? 0n;
        const head = this.#kafka.nextCommitted(topic, PARTITION, from);
        // The runtime's order (partition-group.ts): smallest extracted timestamp, ties to the
        // source listed first.
        if (
          head &&
          (!best || driverTask.task.orderingTime(head) < driverTask.task.orderingTime(best))
        )
          best = head;
      }
      if (best) return [driverTask, best];
    }
    return undefined;
  }

  /**
   * Runs task work. A failure has closed the task dirty (its transaction aborted, so none of
   * the record's output or store writes survive); the driver rebuilds it — fencing, restoring
   * its stores from the changelog, re-reading its committed offsets, as a restart does — and
   * moves past the failed record, then rethrows the error to the test.
   */
  async #guard(
    driverTask: DriverTask,
    record: ConsumedRecord | undefined,
    work: () => Promise<void>,
  ): Promise<void> {
    try {
      await work();
    } catch (err) {
      await driverTask.task.closeDirty();
      try {
        await this.#build(driverTask);
      } catch (rebuildError) {
        this.#failure = rebuildError;
      }
      if (record) driverTask.fetch.set(tpKey(record.topic, record.partition), record.offset + 1n);
      throw err;
    }
  }

  /**
   * Builds and initialises the sub-topology's StreamTask on the in-memory Kafka, with the
   * environment factory StreamsApp uses; a rebuilt task is the next incarnation of the failed
   * one, as in the app.
   */
  async #build(driverTask: DriverTask): Promise<void> {
    const { subtopology } = driverTask;
    const id = taskId(subtopology.id, PARTITION);
    const fetch = new Map<string, bigint>();
    const env = createTaskEnvironment(id, {
      options: this.#options,
      client: this.#client,
      seek: (_task, topic, partition, offset) => void fetch.set(tpKey(topic, partition), offset),
      partitionCount: () => 1,
      fetchPartitionCount: async () => 1,
      now: () => this.#now,
      log: (level, message) => this.#log(level, message),
      processorInstances: this.#processorInstances,
      globalStore: (name) => this.#global?.store(name),
    });
    const previous = driverTask.task as StreamTask | undefined;
    const task = new StreamTask(id, PARTITION, subtopology, env, previous);
    driverTask.task = task;
    driverTask.fetch = fetch;
    await task.init();
  }

  #readNext(topic: string): ConsumedRecord | undefined {
    const key = tpKey(topic, PARTITION);
    const from = this.#readPositions.get(key) ?? 0n;
    const record = this.#kafka.nextCommitted(topic, PARTITION, from);
    if (record) this.#readPositions.set(key, record.offset + 1n);
    return record;
  }

  #unread(topic: string): number {
    const from = this.#readPositions.get(tpKey(topic, PARTITION)) ?? 0n;
    return this.#kafka.countCommitted(topic, PARTITION, from);
  }

  #store(name: string): StateStore {
    this.#checkStarted();
    for (const t of this.#tasks) {
      const store = t.task.getStore(name);
      if (store) return store;
    }
    const global = this.#global?.store(name);
    if (global) return global;
    const known = [
      ...this.#tasks.flatMap((t) => [...t.subtopology.stores.keys()]),
      ...(this.#global?.storeNames ?? []),
    ].sort();
    throw new StreamsError(
      `The topology has no state store "${name}"; it has: ${known.join(', ') || 'none'}`,
    );
  }

  #checkOpen(): void {
    if (this.#closed) throw new StreamsError('The TopologyTestDriver is closed');
  }

  #checkStarted(): void {
    this.#checkOpen();
    if (this.#failure !== undefined) {
      throw new StreamsError('The TopologyTestDriver failed: a task could not be (re)built', {
        cause: this.#failure,
      });
    }
    if (!this.#started) {
      throw new StreamsError(
        'The TopologyTestDriver is still starting: await driver.ready() (or a pipeInput) before reading stores',
      );
    }
  }
}

/** What a TestInputTopic hands the driver: a serialized record. */
interface ProducedInput {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Record<string, Buffer | string>;
}

export class TestInputTopic<K, V> {
  #time: number;

  /** @internal created by TopologyTestDriver.createInputTopic */
  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    startTimestamp: number,
    private readonly autoAdvanceMs: number,
    private readonly pipe: (record: ProducedInput) => Promise<void>,
  ) {
    this.#time = startTimestamp;
  }

  /** The timestamp the next record piped without one gets. */
  get currentTime(): number {
    return this.#time;
  }

  /**
   * Produces one record to the topic and processes it (and what it causes downstream), then
   * commits. Rejects with the task's error (e.g. a ProcessorError naming topic, partition and
   * offset) if processing fails.
   */
  pipeInput(
    key: K | null,
    value: V | null,
    timestamp?: number,
    headers: TestHeaders = {},
  ): Promise<void> {
    let record: ProducedInput;
    try {
      record = this.#serialize({
        key,
        value,
        headers,
        ...(timestamp === undefined ? {} : { timestamp }),
      });
    } catch (err) {
      return Promise.reject(err);
    }
    return this.pipe(record);
  }

  /** Pipes records in order; stops at the first that fails, rejecting with its error. */
  async pipeRecordList(records: Iterable<TestInputRecord<K, V>>): Promise<void> {
    for (const record of records) {
      await this.pipeInput(record.key ?? null, record.value, record.timestamp, record.headers);
    }
  }

  /** Pipes key-value pairs in order, timestamped with the topic's current time. */
  async pipeKeyValueList(records: Iterable<{ key: K | null; value: V | null }>): Promise<void> {
    for (const { key, value } of records) await this.pipeInput(key, value);
  }

  /** Moves the topic's current time (the timestamp of records piped without one). */
  advanceTime(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw new RangeError(`advanceTime: expected an integer >= 0 ms, got ${ms}`);
    }
    this.#time += ms;
  }

  #serialize(record: TestInputRecord<K, V>): ProducedInput {
    const headers: RecordHeaders = { ...record.headers };
    let timestamp = record.timestamp;
    if (timestamp === undefined) {
      timestamp = this.#time;
      this.#time += this.autoAdvanceMs;
    }
    return {
      key: this.keySerde.serialize(this.name, record.key ?? null, headers),
      value: this.valueSerde.serialize(this.name, record.value, headers),
      timestamp,
      headers: { ...record.headers },
    };
  }
}

export class TestOutputTopic<K, V> {
  /** @internal created by TopologyTestDriver.createOutputTopic */
  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly source: { next(): ConsumedRecord | undefined; size(): number },
  ) {}

  /** Reads (consumes) the next committed record; throws when there is none. */
  readRecord(): TestRecord<K, V> {
    const record = this.source.next();
    if (!record) throw new StreamsError(`No record to read: topic ${this.name} is empty`);
    const headers: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(record.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v[0]! : v;
    return {
      key: this.keySerde.deserialize(this.name, record.key, headers),
      value: this.valueSerde.deserialize(this.name, record.value, headers),
      timestamp: record.timestamp,
      headers,
    };
  }

  readKeyValue(): TestKeyValue<K, V> {
    const { key, value } = this.readRecord();
    return { key, value };
  }

  readValue(): V | null {
    return this.readRecord().value;
  }

  readRecordsToList(): TestRecord<K, V>[] {
    const records: TestRecord<K, V>[] = [];
    while (!this.isEmpty()) records.push(this.readRecord());
    return records;
  }

  readKeyValuesToList(): TestKeyValue<K, V>[] {
    return this.readRecordsToList().map(({ key, value }) => ({ key, value }));
  }

  readValuesToList(): (V | null)[] {
    return this.readRecordsToList().map(({ value }) => value);
  }

  /**
   * The latest value per key (a table's view of the topic), keys compared as Map keys are.
   * A null value is kept as null, as in Kafka Streams; a null key throws.
   */
  readKeyValuesToMap(): Map<K, V | null> {
    const map = new Map<K, V | null>();
    for (const { key, value } of this.readRecordsToList()) {
      if (key === null) {
        throw new StreamsError(
          `readKeyValuesToMap: topic ${this.name} has a record with a null key`,
        );
      }
      map.set(key, value);
    }
    return map;
  }

  /** Committed records not read yet. */
  getQueueSize(): number {
    return this.source.size();
  }

  isEmpty(): boolean {
    return this.getQueueSize() === 0;
  }
}

function isWindowStore(store: StateStore): boolean {
  const s = store as Partial<WindowStore<unknown, unknown>>;
  return typeof s.fetch === 'function' && typeof s.windowSizeMs === 'number';
}

function isKeyValueStore(store: StateStore): boolean {
  const s = store as Partial<KeyValueStore<unknown, unknown>>;
  return typeof s.get === 'function' && typeof s.range === 'function' && !isWindowStore(store);
}
