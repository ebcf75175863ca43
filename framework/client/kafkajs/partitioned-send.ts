/**
 * Sends grouped by partition, the adapter's way around a kafkajs retry bug.
 *
 * kafkajs 2.2.4 can write records twice, or drop them while reporting
 * success, when one `send` spans partitions led by different brokers and one
 * broker fails (producer/sendMessages.js). It sends one request per leader
 * at once and remembers the answers per broker object; the first failure
 * rejects the whole send while the other requests may still be in flight,
 * and the retry then
 * - re-sends to a broker whose request was still in flight (or whose broker
 *   object was replaced by a reconnect): that request already took its
 *   sequence numbers, so the copy gets new ones and the broker appends it —
 *   a duplicate, inside the transaction it then commits;
 * - skips a broker that already answered, even if a partition of the failed
 *   broker has just moved to it: those records are never sent, and the send
 *   resolves.
 * Seen in a chaos run: a broker SIGKILLed under an idempotent producer left
 * 108 duplicated input records and no failed send.
 *
 * Both need a retry of a send that spans partitions. So the adapter assigns
 * partitions itself — with kafkajs's own murmur2 partitioner for keyed
 * records, identical to the Java client's, and one partition per send for
 * records without a key, as the Java client's sticky partitioner does — and
 * then either
 * - `send`: sends each partition's records separately, the partitions
 *   concurrently (the plain producer). With a single partition per send there
 *   is only ever one request in flight: a failure rolls back its sequence
 *   numbers before the retry, so a retry of a batch the broker did append is
 *   recognised as a duplicate and not appended again (KIP-98); or
 * - `sendTogether`: sends all partitions in one kafkajs send, one request per
 *   leader broker as the Java client does, but never retried by kafkajs
 *   (internals.ts, item 5): its first failure fails the send, the
 *   transaction aborts, and the abort starts a new epoch so that nothing the
 *   broker may have appended is mistaken for the next batch (producer.ts).
 *   The transactional producer: a task's transaction writes every output
 *   partition each commit interval, and kafkajs holds a per-broker lock
 *   around each request, so one request per partition cost one round trip
 *   per partition.
 */
import kafkajs from 'kafkajs';
import type { PartitionerArgs, RecordMetadata as KafkaRecordMetadata } from 'kafkajs';

const { Partitioners } = kafkajs;

export interface KafkaMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  partition?: number;
  headers?: Record<string, Buffer | string>;
  timestamp?: string;
}

/** Partition counts by topic, as the Java client's metadata: re-read after `maxAgeMs`. */
export class PartitionCounts {
  readonly #counts = new Map<string, { count: Promise<number>; at: number }>();

  constructor(
    private readonly fetch: (topic: string) => Promise<number>,
    /** Java client's metadata.max.age.ms. */
    private readonly maxAgeMs = 300_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(topic: string): Promise<number> {
    const cached = this.#counts.get(topic);
    if (cached && this.now() - cached.at < this.maxAgeMs) return cached.count;
    const count = this.fetch(topic);
    const entry = { count, at: this.now() };
    this.#counts.set(topic, entry);
    // A failed lookup is not remembered: the next send asks again.
    count.catch(() => {
      if (this.#counts.get(topic) === entry) this.#counts.delete(topic);
    });
    return count;
  }
}

/** What landed in one partition: kafkajs's metadata of the first batch, and the offset after the last record. */
export type SentPartition = KafkaRecordMetadata & { nextOffset: bigint | undefined };

/**
 * Most bytes (roughly: keys, values and headers) one record batch may carry: well below the
 * broker's default message.max.bytes (1 MiB), which counts the batch's own overhead too.
 */
export const MAX_BATCH_BYTES = 768 * 1024;
const RECORD_OVERHEAD_BYTES = 24;

function size(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

/** One partition's messages in batches of at most MAX_BATCH_BYTES (one message per batch at least). */
function* chunks(messages: KafkaMessage[]): Generator<KafkaMessage[]> {
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    let n = RECORD_OVERHEAD_BYTES + size(m.key) + size(m.value);
    if (m.headers) for (const k in m.headers) n += k.length + size(m.headers[k]);
    if (i > start && bytes + n > MAX_BATCH_BYTES) {
      yield messages.slice(start, i);
      start = i;
      bytes = 0;
    }
    bytes += n;
  }
  if (start === 0) yield messages;
  else if (start < messages.length) yield messages.slice(start);
}

export class PartitionedSender {
  readonly #partitioner = Partitioners.DefaultPartitioner();
  /** Next partition for records without a key, per topic. */
  readonly #sticky = new Map<string, number>();

  constructor(private readonly partitionCount: (topic: string) => Promise<number>) {}

  /**
   * Groups `messages` by partition, keeping their order within each, and
   * sends each group with its own `sendOne` call. Resolves with every
   * partition's metadata once all are acknowledged; rejects with the first
   * failure after every group settled, so no send is left running.
   */
  async send(
    topic: string,
    messages: KafkaMessage[],
    sendOne: (messages: KafkaMessage[]) => Promise<KafkaRecordMetadata[]>,
  ): Promise<SentPartition[]> {
    const groups = await this.group(topic, messages);
    const sendPartition = async (group: KafkaMessage[]): Promise<SentPartition[]> => {
      // kafkajs puts one partition's messages in one record batch, and the broker refuses a
      // batch above message.max.bytes: send a large group as several batches, one after
      // another (the idempotent producer keeps them in order).
      let first: KafkaRecordMetadata | undefined;
      let next: bigint | undefined;
      for (const chunk of chunks(group)) {
        const [meta] = await sendOne(chunk);
        if (meta === undefined) continue;
        first ??= meta;
        next = BigInt(meta.baseOffset ?? '-1') + BigInt(chunk.length);
      }
      return first === undefined ? [] : [{ ...first, nextOffset: next }];
    };
    if (groups.size <= 1) return sendPartition([...groups.values()][0] ?? []);
    const results = await Promise.allSettled([...groups.values()].map(sendPartition));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  }

  /**
   * Groups `messages` by partition like `send`, but sends the partitions together: one
   * `sendMany` call per round carries the next batch of every partition that has one
   * (normally one round), so kafkajs writes one request per leader broker instead of one per
   * partition. A round of several partitions runs inside `once`, where kafkajs must not
   * retry it: its first failure rejects the send (the transaction then aborts, and the abort
   * starts a new epoch). A round of one partition keeps kafkajs's retry, as `send` does.
   */
  async sendTogether(
    topic: string,
    messages: KafkaMessage[],
    sendMany: (messages: KafkaMessage[]) => Promise<KafkaRecordMetadata[]>,
    once: <T>(send: () => Promise<T>) => Promise<T>,
  ): Promise<SentPartition[]> {
    const groups = await this.group(topic, messages);
    const pending = [...groups].map(([partition, group]) => ({
      partition,
      chunks: [...chunks(group)],
    }));
    const sent = new Map<number, SentPartition>();
    for (let round = 0; ; round++) {
      const due = pending.filter((p) => round < p.chunks.length);
      if (due.length === 0) break;
      const batch = due.flatMap((p) => p.chunks[round]!);
      const metadata = await (due.length > 1 ? once(() => sendMany(batch)) : sendMany(batch));
      for (const p of due) {
        const meta = metadata.find((m) => m.partition === p.partition);
        if (meta === undefined) continue;
        const next = BigInt(meta.baseOffset ?? '-1') + BigInt(p.chunks[round]!.length);
        const first = sent.get(p.partition) ?? meta;
        sent.set(p.partition, { ...first, nextOffset: next });
      }
    }
    return [...sent.values()];
  }

  private async group(
    topic: string,
    messages: KafkaMessage[],
  ): Promise<Map<number, KafkaMessage[]>> {
    const groups = new Map<number, KafkaMessage[]>();
    let count: number | undefined;
    let unkeyed: number | undefined;
    for (const message of messages) {
      let partition = message.partition;
      if (partition === undefined) {
        count ??= await this.partitionCount(topic);
        if (message.key === null || message.key === undefined) {
          unkeyed ??= this.nextStickyPartition(topic, count);
          partition = unkeyed;
        } else {
          partition = this.#partitioner({
            topic,
            partitionMetadata: syntheticMetadata(count),
            message,
          } as PartitionerArgs);
        }
      }
      // The adapter's own message objects (producer.ts builds them per send): placed in place.
      message.partition = partition;
      const group = groups.get(partition);
      if (group) group.push(message);
      else groups.set(partition, [message]);
    }
    return groups;
  }

  private nextStickyPartition(topic: string, count: number): number {
    const next = this.#sticky.get(topic) ?? Math.floor(Math.random() * count);
    this.#sticky.set(topic, (next + 1) % count);
    return next % count;
  }
}

const metadataByCount = new Map<number, PartitionerArgs['partitionMetadata']>();

/** The partitioner reads only the partition count (and leaders, for keyless records we never give it). */
function syntheticMetadata(count: number): PartitionerArgs['partitionMetadata'] {
  let metadata = metadataByCount.get(count);
  if (!metadata) {
    metadata = Array.from({ length: count }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      offlineReplicas: [],
    }));
    metadataByCount.set(count, metadata);
  }
  return metadata;
}
