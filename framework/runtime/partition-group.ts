/**
 * The records a task with several input partitions has fetched but not yet
 * processed, and which comes next (Kafka Streams' PartitionGroup and
 * RecordQueue): the head record with the smallest timestamp across the
 * task's partitions, so that a join or a merge sees its inputs in time
 * order whatever the fetch timing (docs/architecture.md, "Timestamp order").
 *
 * A partition with nothing buffered holds the others back, within bounds
 * (Kafka Streams' max.task.idle.ms, KIP-695):
 * - if its end (last stable offset) is not known from the last 100 ms, the
 *   task asks for it and waits for the answer;
 * - if it has records not yet fetched (position < end), the task waits for
 *   them — up to a safety cap;
 * - if it is caught up (position >= end), the task waits `maxTaskIdleMs` for
 *   new records, then goes on without it (0: goes on at once);
 * - `maxTaskIdleMs` -1: never waits.
 * Ties go to the partition listed first (the sub-topology's source order),
 * as the TopologyTestDriver did.
 */
import type { ConsumedRecord, TopicPartition } from '../client/index.ts';
import { topicPartitionKey } from '../names.ts';

/** How long the task waits for records known to exist before it goes on without them. */
export const MAX_WAIT_FOR_FETCH_MS = 30_000;
/** How old a known end offset may be before a waiting task asks again. */
export const END_OFFSET_MAX_AGE_MS = 100;

interface Queue extends TopicPartition {
  readonly key: string;
  records: ConsumedRecord[];
  times: number[];
  head: number;
  /** Next offset after the last record buffered: redelivered records below it are dropped. */
  bufferedUpTo: bigint;
  /** When the task first found this partition empty while others had records. */
  emptySince: number | undefined;
  /** Its last stable offset, and when that was learned. */
  end: bigint | undefined;
  endAt: number;
  endPending: boolean;
}

export type NextRecord =
  | { kind: 'record'; record: ConsumedRecord; key: string }
  /** Nothing buffered. */
  | { kind: 'empty' }
  /** Records buffered, but a partition without any may still get earlier ones. */
  | { kind: 'wait'; refresh: TopicPartition[] };

export class PartitionGroup {
  private readonly queues: Queue[];
  private readonly byKey = new Map<string, Queue>();

  constructor(
    partitions: readonly TopicPartition[],
    private readonly maxTaskIdleMs: number,
    /** A record's time for ordering (its extracted timestamp; the Kafka timestamp if that fails). */
    private readonly timeOf: (record: ConsumedRecord) => number,
  ) {
    this.queues = partitions.map(({ topic, partition }) => {
      const q: Queue = {
        topic,
        partition,
        key: topicPartitionKey(topic, partition),
        records: [],
        times: [],
        head: 0,
        bufferedUpTo: 0n,
        emptySince: undefined,
        end: undefined,
        endAt: 0,
        endPending: false,
      };
      this.byKey.set(q.key, q);
      return q;
    });
  }

  /** Where a partition starts (the task sought it there): nothing below is buffered. */
  start(topic: string, partition: number, offset: bigint): void {
    const q = this.byKey.get(topicPartitionKey(topic, partition));
    if (q) q.bufferedUpTo = offset;
  }

  /** Buffers fetched records of one partition (records below what is buffered are redeliveries). */
  add(records: readonly ConsumedRecord[]): void {
    for (const r of records) {
      const q = this.byKey.get(topicPartitionKey(r.topic, r.partition));
      if (!q || r.offset < q.bufferedUpTo) continue;
      q.records.push(r);
      q.times.push(this.timeOf(r));
      q.bufferedUpTo = r.offset + 1n;
      q.emptySince = undefined;
    }
  }

  /** Records buffered in one partition. */
  buffered(topic: string, partition: number): number {
    const q = this.byKey.get(topicPartitionKey(topic, partition));
    return q ? q.records.length - q.head : 0;
  }

  get totalBuffered(): number {
    let n = 0;
    for (const q of this.queues) n += q.records.length - q.head;
    return n;
  }

  /** The end offset (last stable offset) of a partition as just read. */
  learnEnd(topic: string, partition: number, end: bigint, now: number): void {
    const q = this.byKey.get(topicPartitionKey(topic, partition));
    if (!q) return;
    q.end = end;
    q.endAt = now;
    q.endPending = false;
  }

  endRequestFailed(topic: string, partition: number): void {
    const q = this.byKey.get(topicPartitionKey(topic, partition));
    if (q) q.endPending = false;
  }

  /**
   * The next record to process, by head timestamp, or why there is none. `position` is the
   * next offset the task will process in a partition.
   */
  next(now: number, position: (key: string) => bigint | undefined): NextRecord {
    let best: Queue | undefined;
    let waitFor: Queue[] | undefined;
    let any = false;
    for (const q of this.queues) {
      if (q.head < q.records.length) {
        any = true;
        if (best === undefined || q.times[q.head]! < best.times[best.head]!) best = q;
        continue;
      }
      if (this.maxTaskIdleMs < 0) continue;
      (waitFor ??= []).push(q);
    }
    if (!any || best === undefined) return { kind: 'empty' };
    const refresh: TopicPartition[] = [];
    for (const q of waitFor ?? []) {
      q.emptySince ??= now;
      const pos = position(q.key) ?? q.bufferedUpTo;
      // Caught up only by recent knowledge: records may have arrived since an old answer.
      const fresh = q.end !== undefined && now - q.endAt <= END_OFFSET_MAX_AGE_MS;
      const caughtUp = fresh && pos >= q.end!;
      const waited = now - q.emptySince;
      const mayPass = caughtUp ? waited >= this.maxTaskIdleMs : waited >= MAX_WAIT_FOR_FETCH_MS;
      if (mayPass) continue;
      if (!fresh && !q.endPending) {
        q.endPending = true;
        refresh.push({ topic: q.topic, partition: q.partition });
      }
      return { kind: 'wait', refresh };
    }
    const record = best.records[best.head]!;
    best.records[best.head] = undefined as unknown as ConsumedRecord; // let it be collected
    best.head++;
    if (best.head === best.records.length) {
      best.records = [];
      best.times = [];
      best.head = 0;
    } else if (best.head > 1024 && best.head * 2 > best.records.length) {
      best.records = best.records.slice(best.head);
      best.times = best.times.slice(best.head);
      best.head = 0;
    }
    return { kind: 'record', record, key: best.key };
  }
}
