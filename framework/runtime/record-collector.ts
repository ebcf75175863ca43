/**
 * The record collector (Kafka Streams' RecordCollectorImpl): everything a
 * task writes passes through here — sink records (serialized, partitioned),
 * dead-letter records and changelog records. They wait in the outbox of the
 * open transaction; `sendAhead()` sends what is there in the background (one
 * send at a time, so a partition's records stay in order) while the task goes
 * on processing, and `flush()` sends the rest and awaits every send
 * (docs/architecture.md, invariant 3). The collector remembers where each
 * changelog's records landed on the task's partition, so the state manager
 * can record the changelog offset its committed state reflects.
 */
import type { ConsumedRecord, Headers, ProducerRecord } from '../client/index.ts';
import { SerializationError, StreamsFatalError, type StreamsErrorContext } from '../errors.ts';
import type { Record as StreamRecord } from '../processor.ts';
import type { Delivery, OperationScope, TaskTelemetry, TransactionOutcome } from '../telemetry.ts';
import type { SinkNode } from '../topology.ts';
import type { TaskOutput } from './task-output.ts';

export interface RecordCollectorOptions {
  taskId: string;
  /** The task's partition: where its changelog records go. */
  partition: number;
  output: TaskOutput;
  telemetry: TaskTelemetry;
  /** Partition count of a topic if known without asking Kafka. */
  partitionCount(topic: string): number | undefined;
  /** Partition count of a topic, asking Kafka if needed (a topic picked per record). */
  fetchPartitionCount(topic: string): Promise<number>;
  /** Where the task is (the current record), for errors. */
  where(): StreamsErrorContext;
}

export class RecordCollector {
  private readonly outbox = new Map<string, ProducerRecord[]>();
  private pending = 0;
  /** Per changelog topic: next offset after this transaction's records on the task's partition. */
  private readonly changelogNext = new Map<string, bigint>();
  private readonly changelogTopics = new Set<string>();
  /** Output records of the open transaction whose delivery telemetry records. */
  private deliveries: Delivery[] = [];
  /** The background send of `sendAhead()`, if one is under way; it never rejects. */
  private inflight: Promise<void> | undefined;
  /** Why a background send failed: thrown by the next `flush()`. */
  private sendError: { error: unknown } | undefined;

  constructor(private readonly o: RecordCollectorOptions) {}

  /** Records waiting in the outbox. */
  get size(): number {
    return this.pending;
  }

  /** Makes `flush()` remember where this topic's records land (a store's changelog). */
  trackChangelog(topic: string): void {
    this.changelogTopics.add(topic);
  }

  /** Next changelog offset after the records flushed in this transaction; undefined if none. */
  changelogOffset(topic: string): bigint | undefined {
    return this.changelogNext.get(topic);
  }

  /**
   * Serializes a sink's record into the outbox. Synchronous unless the sink has a
   * partitioner and its topic's partition count must be fetched first.
   */
  send(
    sink: SinkNode,
    record: StreamRecord<unknown, unknown>,
    scope: OperationScope | undefined,
  ): void | Promise<void> {
    const topic = sink.topic ?? this.extractTopic(sink, record);
    let key: Buffer | null;
    let value: Buffer | null;
    try {
      key = sink.keySerde.serialize(topic, record.key, record.headers);
      value = sink.valueSerde.serialize(topic, record.value, record.headers);
    } catch (err) {
      throw new SerializationError(
        `Sink "${sink.name}" cannot serialize a record for ${topic}: ${messageOf(err)}`,
        { ...this.o.where(), cause: err },
      );
    }
    const headers = toProducerHeaders(record.headers);
    if (!sink.partitioner) {
      this.push(topic, { key, value, headers, timestamp: record.timestamp }, scope);
      return;
    }
    const count = this.o.partitionCount(topic);
    if (count !== undefined) {
      const partition = this.partition(sink, topic, record, count);
      this.push(topic, { key, value, partition, headers, timestamp: record.timestamp }, scope);
      return;
    }
    return this.o.fetchPartitionCount(topic).then(
      (n) => {
        const partition = this.partition(sink, topic, record, n);
        this.push(topic, { key, value, partition, headers, timestamp: record.timestamp }, scope);
      },
      (err: unknown) => {
        throw new StreamsFatalError(
          `Sink "${sink.name}": topic ${topic} does not exist or cannot be described: ${messageOf(err)}`,
          { ...this.o.where(), cause: err },
        );
      },
    );
  }

  /** A record that could not be deserialized, raw, to the dead-letter topic (same transaction). */
  sendDeadLetter(
    topic: string,
    record: ConsumedRecord,
    reason: string,
    scope: OperationScope | undefined,
  ): void {
    const headers: Headers = {};
    for (const [k, v] of Object.entries(record.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v[0]! : v;
    Object.assign(headers, {
      'streamtx.error': reason,
      'streamtx.topic': record.topic,
      'streamtx.partition': String(record.partition),
      'streamtx.offset': record.offset.toString(),
      'streamtx.task': this.o.taskId,
    });
    this.push(
      topic,
      { key: record.key, value: record.value, headers, timestamp: record.timestamp },
      scope,
    );
  }

  /** A store change, to its changelog on the task's partition. */
  logChange(topic: string, key: Buffer, value: Buffer | null, timestamp: number): void {
    this.push(topic, { key, value, partition: this.o.partition, timestamp }, undefined);
  }

  /**
   * Starts sending the outbox in the background if nothing is being sent, so that a commit
   * finds most of its transaction's records already acknowledged (Kafka Streams' producer
   * sends while the task processes, too). A failure is kept for the next `flush()`.
   */
  sendAhead(): void {
    if (this.inflight !== undefined || this.sendError !== undefined || this.pending === 0) return;
    this.inflight = this.sendOutbox().then(
      () => {
        this.inflight = undefined;
      },
      (error: unknown) => {
        this.sendError = { error };
        this.inflight = undefined;
      },
    );
  }

  /** Resolves once no background send is under way (whatever its outcome): before an abort. */
  async settled(): Promise<void> {
    while (this.inflight !== undefined) await this.inflight;
  }

  /** Sends the outbox; resolves once every record of the transaction is acknowledged. */
  async flush(): Promise<void> {
    await this.settled();
    if (this.sendError !== undefined) throw this.sendError.error;
    await this.sendOutbox();
  }

  private async sendOutbox(): Promise<void> {
    if (this.pending === 0) return;
    const batches = [...this.outbox];
    this.outbox.clear();
    this.pending = 0;
    // Topics side by side (each is one request per partition): a stateful task's output and
    // changelog cost one round trip, not two. Every send settles before this does, so
    // nothing of the transaction is still in flight when the task commits or aborts.
    const sent = await Promise.allSettled(
      batches.map(async ([topic, records]) => {
        try {
          const landed = await this.o.telemetry.sending(() => this.o.output.send(topic, records));
          if (this.changelogTopics.has(topic)) this.rememberChangelog(topic, records, landed);
        } catch (err) {
          this.o.telemetry.sendFailed(topic, err);
          throw err;
        }
      }),
    );
    const failed = sent.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** The transaction ended: tells telemetry how its records' deliveries ended, forgets offsets. */
  transactionEnded(outcome: TransactionOutcome, error?: unknown): void {
    this.sendError = undefined;
    this.changelogNext.clear();
    this.outbox.clear();
    this.pending = 0;
    if (this.deliveries.length === 0) return;
    for (const delivery of this.deliveries) delivery.end(outcome, error);
    this.deliveries = [];
  }

  private push(topic: string, record: ProducerRecord, scope: OperationScope | undefined): void {
    if (scope !== undefined) {
      const delivery = scope.send(topic, record);
      if (delivery) this.deliveries.push(delivery);
    }
    const list = this.outbox.get(topic);
    if (list) list.push(record);
    else this.outbox.set(topic, [record]);
    this.pending++;
  }

  private rememberChangelog(
    topic: string,
    records: ProducerRecord[],
    landed: { partition: number; baseOffset: bigint; nextOffset?: bigint }[],
  ): void {
    const mine = landed.find((m) => m.partition === this.o.partition);
    if (mine === undefined) return;
    if (mine.nextOffset !== undefined) {
      this.changelogNext.set(topic, mine.nextOffset);
      return;
    }
    // Only this task writes its changelog partition, so one send's records are contiguous.
    let n = 0n;
    for (const r of records) if (r.partition === this.o.partition) n++;
    this.changelogNext.set(topic, mine.baseOffset + n);
  }

  private extractTopic(sink: SinkNode, record: StreamRecord<unknown, unknown>): string {
    let topic: unknown;
    try {
      topic = sink.topicExtractor!(record);
    } catch (err) {
      throw new StreamsFatalError(
        `Sink "${sink.name}": the topic extractor threw: ${messageOf(err)}`,
        { ...this.o.where(), cause: err },
      );
    }
    if (typeof topic !== 'string' || topic === '') {
      throw new StreamsFatalError(
        `Sink "${sink.name}": the topic extractor returned ${JSON.stringify(topic)}, not a topic name`,
        this.o.where(),
      );
    }
    return topic;
  }

  private partition(
    sink: SinkNode,
    topic: string,
    record: StreamRecord<unknown, unknown>,
    count: number,
  ): number | undefined {
    const partition = sink.partitioner!(topic, record.key, record.value, count);
    if (partition === undefined) return undefined;
    if (!Number.isSafeInteger(partition) || partition < 0 || partition >= count) {
      throw new StreamsFatalError(
        `Sink "${sink.name}": the partitioner returned ${String(partition)} for ${topic}, which has ${count} partitions`,
        this.o.where(),
      );
    }
    return partition;
  }
}

/** Kafka headers from a record's: one value per key (the first of a repeated key). */
function toProducerHeaders(headers: StreamRecord<unknown, unknown>['headers']): Headers {
  const out: Headers = {};
  for (const k in headers) {
    const v = headers[k];
    if (v !== undefined) out[k] = Array.isArray(v) ? v[0]! : v;
  }
  return out;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
