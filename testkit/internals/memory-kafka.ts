/**
 * An in-memory Kafka for the TopologyTestDriver (and the runtime's unit
 * tests): partition logs with offsets, transactions whose records become
 * visible to read_committed readers only on commit and never after an abort,
 * a last stable offset that stops at the first open transaction (as a
 * read_committed consumer sees it), and group offsets committed with a
 * transaction. It is the Kafka side only: no processing semantics live here.
 *
 * `MemoryKafkaClient` puts it behind the client adapter's `KafkaClient`
 * interface, so the driver builds tasks with the same environment factory
 * as StreamsApp; its transactional producers run the adapter's own
 * transaction state machine.
 */
import {
  ClientError,
  ProducerFencedError,
  TransactionStateMachine,
  type ClusterDescription,
  type ConsumedRecord,
  type GroupConsumer,
  type Headers,
  type KafkaAdmin,
  type KafkaClient,
  type PlainProducer,
  type ProducerRecord,
  type RecordMetadata,
  type TopicPartitionOffset,
  type TopicSpec,
  type TransactionalProducer,
  type TransactionState,
} from '../../framework/client/index.ts';

export type MemoryRecordStatus = 'pending' | 'committed' | 'aborted';

export interface MemoryLogEntry {
  /** The record as its producer sent it. */
  record: ProducerRecord;
  status: MemoryRecordStatus;
  /** Transactional id of the producer, or undefined for a plain (non-transactional) write. */
  producer: string | undefined;
  /** The record's timestamp: its own, or the append time when it had none (CreateTime default). */
  timestamp: number;
}

const key = (topic: string, partition: number): string => `${topic}:${partition}`;

const toBuffer = (v: Buffer | string | null | undefined): Buffer | null =>
  v === null || v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);

export class MemoryKafka {
  /** Partition logs by `${topic}:${partition}`; an entry's index is its offset. */
  logs = new Map<string, MemoryLogEntry[]>();
  /** Committed next-offset-to-read per group, by `${topic}:${partition}`. */
  readonly groupOffsets = new Map<string, Map<string, bigint>>();
  readonly #settledPrefix = new WeakMap<MemoryLogEntry[], number>();
  /** Entries of each producer's open transaction, so settling one costs its own size. */
  readonly #pending = new Map<string, MemoryLogEntry[]>();
  /** Producer epoch per transactional id (InitProducerId bumps it). */
  readonly #epochs = new Map<string, number>();

  /** The current epoch of a transactional id (-1 before its first init). */
  epoch(transactionalId: string): number {
    return this.#epochs.get(transactionalId) ?? -1;
  }

  /** InitProducerId: a new epoch for the id; producers of older epochs are fenced. */
  bumpEpoch(transactionalId: string): number {
    const next = this.epoch(transactionalId) + 1;
    this.#epochs.set(transactionalId, next);
    return next;
  }

  /**
   * @param partitions partition count of a topic, or undefined when any partition may be written
   * @param now append time for records sent without a timestamp
   */
  constructor(
    private readonly partitions: (topic: string) => number | undefined = () => undefined,
    private readonly now: () => number = () => 0,
  ) {}

  /** Appends records; `producer` undefined writes them committed at once (a plain producer). */
  append(topic: string, records: ProducerRecord[], producer?: string): RecordMetadata[] {
    const base = new Map<number, bigint>();
    for (const record of records) {
      // Every topic of the driver has one partition, so the default partitioner always picks 0.
      const partition = record.partition ?? 0;
      const count = this.partitions(topic);
      if (count !== undefined && (partition < 0 || partition >= count)) {
        throw new Error(
          `Cannot write to ${topic}-${partition}: the topic has ${count} partition(s) (UNKNOWN_TOPIC_OR_PARTITION)`,
        );
      }
      const log = this.log(topic, partition);
      if (!base.has(partition)) base.set(partition, BigInt(log.length));
      const entry: MemoryLogEntry = {
        record,
        status: producer === undefined ? 'committed' : 'pending',
        producer,
        timestamp: record.timestamp ?? this.now(),
      };
      log.push(entry);
      if (producer !== undefined) {
        const open = this.#pending.get(producer);
        if (open) open.push(entry);
        else this.#pending.set(producer, [entry]);
      }
    }
    return [...base].map(([partition, baseOffset]) => ({ topic, partition, baseOffset }));
  }

  /** Ends a producer's open transaction: its pending records become committed or aborted. */
  settle(producer: string, status: 'committed' | 'aborted'): void {
    const open = this.#pending.get(producer);
    if (!open) return;
    this.#pending.delete(producer);
    for (const e of open) if (e.status === 'pending') e.status = status;
  }

  commitOffsets(groupId: string, offsets: TopicPartitionOffset[]): void {
    let group = this.groupOffsets.get(groupId);
    if (!group) this.groupOffsets.set(groupId, (group = new Map()));
    for (const o of offsets) group.set(key(o.topic, o.partition), o.offset);
  }

  committedOffset(groupId: string, topic: string, partition: number): bigint | undefined {
    return this.groupOffsets.get(groupId)?.get(key(topic, partition));
  }

  /** Log start (always 0: nothing is deleted) and last stable offset of a partition. */
  offsetsOf(topic: string, partition: number): { beginning: bigint; end: bigint } {
    return { beginning: 0n, end: this.lastStableOffset(topic, partition) };
  }

  /** The first offset of an open transaction, or the log end: how far a read_committed reader may go. */
  lastStableOffset(topic: string, partition: number): bigint {
    const log = this.log(topic, partition);
    // Entries only ever go from pending to settled, and appends come at the end: the settled
    // prefix only grows, so each call resumes where the last one stopped.
    let i = this.#settledPrefix.get(log) ?? 0;
    while (i < log.length && log[i]!.status !== 'pending') i++;
    this.#settledPrefix.set(log, i);
    return BigInt(i);
  }

  /** What a read_committed consumer fetches from `from` up to (excluding) `until` and the last stable offset. */
  readCommitted(topic: string, partition: number, from: bigint, until?: bigint): ConsumedRecord[] {
    const log = this.log(topic, partition);
    const stable = this.lastStableOffset(topic, partition);
    const end = Number(until === undefined || until > stable ? stable : until);
    const out: ConsumedRecord[] = [];
    for (let o = Number(from); o < end; o++) {
      const e = log[o]!;
      if (e.status === 'committed') out.push(this.consumed(topic, partition, o, e));
    }
    return out;
  }

  /** The first committed record at or after `from`, below the last stable offset. */
  nextCommitted(topic: string, partition: number, from: bigint): ConsumedRecord | undefined {
    const log = this.log(topic, partition);
    const end = Number(this.lastStableOffset(topic, partition));
    for (let o = Number(from); o < end; o++) {
      const e = log[o]!;
      if (e.status === 'committed') return this.consumed(topic, partition, o, e);
    }
    return undefined;
  }

  /** How many committed records a read_committed reader at `from` can still fetch. */
  countCommitted(topic: string, partition: number, from: bigint): number {
    const log = this.log(topic, partition);
    const end = Number(this.lastStableOffset(topic, partition));
    let n = 0;
    for (let o = Number(from); o < end; o++) if (log[o]!.status === 'committed') n++;
    return n;
  }

  /** `readCommitted` in batches, the shape the task's changelog restore reads. */
  async *read(
    topic: string,
    partition: number,
    from: bigint,
    until: bigint,
    batchSize = 500,
  ): AsyncIterable<ConsumedRecord[]> {
    const records = this.readCommitted(topic, partition, from, until);
    for (let i = 0; i < records.length; i += batchSize) yield records.slice(i, i + batchSize);
  }

  /** Committed entries of every partition of a topic, in partition then offset order. */
  committedEntries(topic: string): { topic: string; partition: number; entry: MemoryLogEntry }[] {
    return [...this.logs]
      .filter(([k]) => k.slice(0, k.lastIndexOf(':')) === topic)
      .sort(
        ([a], [b]) =>
          Number(a.slice(a.lastIndexOf(':') + 1)) - Number(b.slice(b.lastIndexOf(':') + 1)),
      )
      .flatMap(([k, log]) =>
        log
          .filter((e) => e.status === 'committed')
          .map((entry) => ({ topic, partition: Number(k.slice(k.lastIndexOf(':') + 1)), entry })),
      );
  }

  /** Every topic with a log, sorted. */
  get topics(): string[] {
    return [...new Set([...this.logs.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))].sort();
  }

  log(topic: string, partition: number): MemoryLogEntry[] {
    const k = key(topic, partition);
    let log = this.logs.get(k);
    if (!log) this.logs.set(k, (log = []));
    return log;
  }

  /** A stored record as a consumer receives it: bytes for key, value and headers. */
  private consumed(
    topic: string,
    partition: number,
    offset: number,
    e: MemoryLogEntry,
  ): ConsumedRecord {
    const headers: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(e.record.headers ?? ({} as Headers)))
      headers[k] = Buffer.from(v);
    return {
      topic,
      partition,
      offset: BigInt(offset),
      key: toBuffer(e.record.key),
      value: toBuffer(e.record.value),
      timestamp: e.timestamp,
      headers,
    };
  }
}

/**
 * A transactional producer on a MemoryKafka: init() fences, i.e. aborts
 * whatever this transactional id left open and makes every earlier producer
 * of the id fail as fenced (InitProducerId); sends are pending until
 * commit(), which also commits the input offsets for the group, atomically.
 */
export class MemoryTransactionalProducer implements TransactionalProducer {
  readonly #machine = new TransactionStateMachine();
  /** The epoch this producer got at init. */
  #epoch = -1;
  #offsets: TopicPartitionOffset[] = [];
  #group: string | undefined;
  #sending = 0;

  constructor(
    private readonly kafka: MemoryKafka,
    readonly transactionalId: string,
    private readonly hooks: MemoryFaults,
  ) {}

  get state(): TransactionState {
    return this.#machine.state;
  }

  async init(): Promise<void> {
    this.#check('init');
    this.#machine.transition('INITIALIZING');
    this.hooks.inits++;
    this.kafka.settle(this.transactionalId, 'aborted');
    this.#epoch = this.kafka.bumpEpoch(this.transactionalId);
    this.#machine.transition('READY');
  }

  begin(): void {
    this.#check('begin');
    this.#machine.transition('IN_TRANSACTION');
  }

  async send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    this.#check('send');
    if (this.hooks.failSendWith) {
      const error = this.hooks.failSendWith;
      this.#machine.transition(error instanceof ProducerFencedError ? 'FENCED' : 'ABORTABLE');
      throw error;
    }
    this.#sending++;
    try {
      if (this.hooks.holdSends) {
        await this.hooks.holdSends;
        // The broker checks the epoch when the request arrives: a newer producer fenced us.
        this.#check('send');
      }
      return this.kafka.append(topic, records, this.transactionalId);
    } finally {
      this.#sending--;
    }
  }

  async sendOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void> {
    this.#check('sendOffsets');
    this.#group = groupId;
    this.#offsets = offsets;
  }

  async commit(): Promise<void> {
    this.#check('commit');
    this.#machine.transition('COMMITTING');
    this.kafka.settle(this.transactionalId, 'committed');
    if (this.#group !== undefined && this.#offsets.length > 0)
      this.kafka.commitOffsets(this.#group, this.#offsets);
    this.hooks.offsets = this.#offsets;
    this.#offsets = [];
    this.#machine.transition('READY');
    this.hooks.afterCommit?.();
  }

  async abort(): Promise<void> {
    if (this.#sending > 0) this.hooks.abortsWhileSending++;
    this.#check('abort');
    this.#machine.transition('ABORTING');
    this.kafka.settle(this.transactionalId, 'aborted');
    this.#offsets = [];
    this.hooks.aborts++;
    this.#machine.transition('READY');
  }

  async close(): Promise<void> {
    if (this.#machine.state !== 'CLOSED') this.#machine.transition('CLOSED');
  }

  #check(operation: 'init' | 'begin' | 'send' | 'sendOffsets' | 'commit' | 'abort'): void {
    if (this.#machine.state === 'FENCED') throw new ProducerFencedError(this.transactionalId);
    if (
      operation !== 'init' &&
      this.#epoch >= 0 &&
      this.kafka.epoch(this.transactionalId) > this.#epoch
    ) {
      // A newer producer of the id exists: like INVALID_PRODUCER_EPOCH / PRODUCER_FENCED.
      if (this.#machine.state !== 'CLOSED') this.#machine.transition('FENCED');
      throw new ProducerFencedError(this.transactionalId);
    }
    this.#machine.check(operation);
  }
}

/** Faults and counters a test can set on the producers of a MemoryKafkaClient. */
export interface MemoryFaults {
  /** Makes every send fail with this error. */
  failSendWith: Error | undefined;
  /** Called right after a Kafka commit, to simulate a crash between it and what follows. */
  afterCommit: (() => void) | undefined;
  /** While set, sends wait for it (a broker that does not answer). */
  holdSends: Promise<void> | undefined;
  inits: number;
  aborts: number;
  /** Aborts called on a producer while one of its sends was in flight (must stay 0). */
  abortsWhileSending: number;
  /** The offsets of the last commit. */
  offsets: TopicPartitionOffset[];
}

/**
 * The client adapter's `KafkaClient` over a MemoryKafka, for tasks built by the
 * TopologyTestDriver and the runtime's unit tests. No consumer group: the
 * driver feeds tasks itself.
 */
export class MemoryKafkaClient implements KafkaClient {
  readonly faults: MemoryFaults = {
    failSendWith: undefined,
    afterCommit: undefined,
    holdSends: undefined,
    inits: 0,
    aborts: 0,
    abortsWhileSending: 0,
    offsets: [],
  };
  readonly admin: KafkaAdmin;

  constructor(
    readonly kafka: MemoryKafka,
    /** Partition count of every topic. */
    private readonly partitions = 1,
  ) {
    const k = kafka;
    // Partitions a topic has here: the configured count, or more if records say so.
    const partitionsOf = (topic: string): number[] => {
      const seen = new Set<number>(Array.from({ length: this.partitions }, (_, p) => p));
      for (const key of k.logs.keys()) {
        const at = key.lastIndexOf(':');
        if (key.slice(0, at) === topic) seen.add(Number(key.slice(at + 1)));
      }
      return [...seen].sort((a, b) => a - b);
    };
    const perPartition = async (topic: string, f: (p: number) => bigint | undefined) => {
      const out = new Map<number, bigint>();
      for (const p of partitionsOf(topic)) {
        const v = f(p);
        if (v !== undefined) out.set(p, v);
      }
      return out;
    };
    this.admin = {
      createTopics: async (_topics: TopicSpec[]) => undefined,
      deleteTopics: async () => undefined,
      partitionCounts: async (topics) => new Map(topics.map((t) => [t, this.partitions])),
      committedOffsets: async (groupId, topic) => {
        const out = new Map<number, bigint>();
        for (const [key, offset] of k.groupOffsets.get(groupId) ?? []) {
          const at = key.lastIndexOf(':');
          if (key.slice(0, at) === topic) out.set(Number(key.slice(at + 1)), offset);
        }
        return out;
      },
      endOffsets: (topic, isolation = 'read_committed') =>
        perPartition(topic, (p) =>
          isolation === 'read_committed'
            ? k.lastStableOffset(topic, p)
            : BigInt(k.log(topic, p).length),
        ),
      beginningOffsets: (topic) => perPartition(topic, () => 0n),
      listTopics: async () => k.topics,
      topicMetadata: async (topics) =>
        new Map(
          topics.map((t) => [
            t,
            Array.from({ length: this.partitions }, (_, partition) => ({
              partition,
              leader: 0,
              replicas: [0],
              isr: [0],
            })),
          ]),
        ),
      deleteRecords: async () => undefined,
      brokerConfigs: async () => new Map(),
      describeCluster: async (): Promise<ClusterDescription> => ({
        clusterId: 'memory',
        controllerId: 0,
        brokers: [{ nodeId: 0, host: 'memory', port: 0 }],
      }),
      close: async () => undefined,
    };
  }

  /** The last producer created per transactional id. */
  readonly producers = new Map<string, MemoryTransactionalProducer>();

  transactionalProducer(transactionalId: string): TransactionalProducer {
    const producer = new MemoryTransactionalProducer(this.kafka, transactionalId, this.faults);
    this.producers.set(transactionalId, producer);
    return producer;
  }

  producer(): PlainProducer {
    return {
      send: async (topic, records) => {
        if (this.faults.failSendWith) throw this.faults.failSendWith;
        return this.kafka.append(topic, records);
      },
      close: async () => undefined,
    };
  }

  groupConsumer(): GroupConsumer {
    throw new ClientError('the in-memory Kafka has no consumer groups', 'fatal');
  }

  readPartition(
    topic: string,
    partition: number,
    fromOffset: bigint,
    untilOffset: bigint | 'end',
  ): AsyncIterable<ConsumedRecord[]> {
    const until =
      untilOffset === 'end' ? this.kafka.lastStableOffset(topic, partition) : untilOffset;
    return this.kafka.read(topic, partition, fromOffset, until);
  }

  async close(): Promise<void> {}
}
