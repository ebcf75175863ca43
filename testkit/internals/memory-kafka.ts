/**
 * An in-memory Kafka for the TopologyTestDriver (and the runtime's unit
 * tests): partition logs with offsets, transactions whose records become
 * visible to read_committed readers only on commit and never after an abort,
 * a last stable offset that stops at the first open transaction (as a
 * read_committed consumer sees it), and group offsets committed with a
 * transaction. It is the Kafka side only: no processing semantics live here.
 */
import type {
  ConsumedRecord,
  Headers,
  ProducerRecord,
  RecordMetadata,
  TopicPartitionOffset,
} from '../../framework/client/index.ts';
import type { TaskOutput } from '../../framework/runtime/task-output.ts';

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
      log.push({
        record,
        status: producer === undefined ? 'committed' : 'pending',
        producer,
        timestamp: record.timestamp ?? this.now(),
      });
    }
    return [...base].map(([partition, baseOffset]) => ({ topic, partition, baseOffset }));
  }

  /** Ends a producer's open transaction: its pending records become committed or aborted. */
  settle(producer: string, status: 'committed' | 'aborted'): void {
    for (const log of this.logs.values())
      for (const e of log) if (e.status === 'pending' && e.producer === producer) e.status = status;
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
    const firstPending = log.findIndex((e) => e.status === 'pending');
    return BigInt(firstPending < 0 ? log.length : firstPending);
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
 * A task's transactional producer on a MemoryKafka: init() fences, i.e.
 * aborts whatever this transactional id left open (InitProducerId); sends
 * are pending until commit(), which also commits the input offsets for the
 * group, atomically.
 */
export class MemoryTaskOutput implements TaskOutput {
  inTransaction = false;
  /** The offsets of the last commit. */
  offsets: TopicPartitionOffset[] = [];
  inits = 0;
  aborts = 0;
  /** Makes every send fail with this error (fault tests). */
  failSendWith: Error | undefined;
  /** Called right after the Kafka commit, to simulate a crash between it and what follows. */
  afterCommit: (() => void) | undefined;

  constructor(
    readonly kafka: MemoryKafka,
    readonly transactionalId: string,
    readonly groupId: string,
  ) {}

  async init(): Promise<void> {
    this.inits++;
    this.kafka.settle(this.transactionalId, 'aborted');
    this.inTransaction = false;
  }

  begin(): void {
    this.inTransaction = true;
  }

  async send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.failSendWith) throw this.failSendWith;
    if (!this.inTransaction) throw new Error(`send to ${topic} outside a transaction`);
    return this.kafka.append(topic, records, this.transactionalId);
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    this.kafka.settle(this.transactionalId, 'committed');
    if (offsets.length > 0) this.kafka.commitOffsets(this.groupId, offsets);
    this.offsets = offsets;
    this.inTransaction = false;
    this.afterCommit?.();
  }

  async abort(): Promise<void> {
    this.kafka.settle(this.transactionalId, 'aborted');
    this.inTransaction = false;
    this.aborts++;
  }

  async close(): Promise<void> {}
}
