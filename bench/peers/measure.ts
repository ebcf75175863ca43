/**
 * The two measurements, the same for every system, taken from outside the
 * app through the client adapter:
 *
 * - throughput: the group's committed offsets polled every `pollMs`;
 *   t0 = first observation of any committed offset > 0, t1 = first
 *   observation of every partition committed up to its end offset;
 *   records/s = (N - C0) / (t1 - t0), C0 the input offsets already committed
 *   at t0. Start-up and the first rebalance are outside [t0, t1], so a JVM's
 *   or tsx's start-up cost does not count; so is the first transaction, and
 *   with it the records it committed (counting them over [t0, t1] would favour
 *   a system whose first transaction is large: with a backlog, streamtx's
 *   first one took a whole fetch of every partition).
 * - latency: records produced at a fixed rate with their send time in a
 *   header, read back with a read_committed consumer; visible - sent.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  classify,
  type ConsumedBatch,
  type GroupAssigner,
  type KafkaAdmin,
  type KafkaClient,
  type ProducerRecord,
} from '../../framework/client/index.ts';
import { waitFor } from '../../testkit/index.ts';
import type { PeerProcess } from './systems.ts';
import { type Workload, inputKey, inputValue } from './workload.ts';

export interface ThroughputResult {
  /** Seconds from t0 to t1. */
  seconds: number;
  recordsPerSec: number;
  /** Process start to t0. */
  startupMs: number;
  /** Polls from t0 to t1: fewer than a handful means the run was too short to time. */
  pollsTimed: number;
  /** N - C0: the input records committed within [t0, t1]. */
  timedRecords: number;
}

export async function measureThroughput(options: {
  admin: KafkaAdmin;
  groupId: string;
  topic: string;
  endOffsets: Map<number, bigint>;
  records: number;
  /**
   * Topics the app writes and reads itself (Kafka Streams' repartition
   * topics): the run is done only when these are committed up to their end
   * as well, i.e. the last sub-topology has caught up.
   */
  internalSources: string[];
  /**
   * Whether an internal source partition holds a committed record at or after
   * `offset`. Not an end-offset comparison: Kafka Streams commits its
   * consumer's position, past the transaction markers at a partition's end,
   * while streamtx commits the offset after the last record it processed, so
   * a partition read to its end may still have markers after it.
   */
  recordsFrom: (topic: string, partition: number, offset: bigint) => Promise<boolean>;
  /** Partition count of each internal source. */
  partitionsOf: (topic: string) => Promise<number>;
  app: PeerProcess;
  startedAt: number;
  pollMs: number;
  timeoutMs: number;
}): Promise<ThroughputResult> {
  const { admin, groupId, topic, endOffsets, app } = options;
  let t0: number | undefined;
  let committedAtT0 = 0n;
  let pollsTimed = 0;
  const t1 = await waitFor(
    async () => {
      app.assertRunning();
      app.peakRssMiB();
      let committed: Map<number, bigint>;
      try {
        committed = await admin.committedOffsets(groupId, topic);
      } catch (err) {
        // e.g. NOT_COORDINATOR while the group's coordinator loads: ask again.
        if (classify(err).kind === 'fatal') throw err;
        return false;
      }
      const now = performance.now();
      if (t0 === undefined && [...committed.values()].some((o) => o > 0n)) {
        t0 = now;
        for (const [partition, offset] of committed)
          if (endOffsets.has(partition)) committedAtT0 += offset;
      }
      if (t0 !== undefined) pollsTimed++;
      for (const [partition, end] of endOffsets) {
        if ((committed.get(partition) ?? 0n) < end) return false;
      }
      // The input is all committed, and with it every transaction that wrote to an
      // internal topic: their content is final, and done once no record is left
      // after the group's committed offset.
      for (const internal of options.internalSources) {
        const [partitions, done] = await Promise.all([
          options.partitionsOf(internal),
          admin.committedOffsets(groupId, internal),
        ]);
        for (let partition = 0; partition < partitions; partition++) {
          if (await options.recordsFrom(internal, partition, done.get(partition) ?? 0n))
            return false;
        }
      }
      return now;
    },
    {
      timeoutMs: options.timeoutMs,
      intervalMs: options.pollMs,
      what: `${app.spec.system} (${groupId}) committing all ${options.records} input offsets`,
    },
  );
  const start = t0 ?? t1;
  const seconds = (t1 - start) / 1000;
  const timedRecords = options.records - Number(committedAtT0);
  return {
    seconds,
    recordsPerSec: seconds > 0 ? timedRecords / seconds : Number.POSITIVE_INFINITY,
    startupMs: start - options.startedAt,
    pollsTimed,
    timedRecords,
  };
}

export const SENT_HEADER = 'bench-sent-ms';
/** ~750 KB a request, ~125 KB a partition: far below message.max.bytes (1 MiB). */
const MAX_SEND = 5000;

export interface LatencyResult {
  targetRate: number;
  /** Records per second produced within the measured window. */
  achievedRate: number;
  sent: number;
  received: number;
  /** Records sent in the measured window (after the warm-up) and seen. */
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** How many samples took the send time from the header (the rest: record timestamp). */
  fromHeader: number;
  /** Timestamp of each record sent, by index, for the correctness guard. */
  timestamps: Float64Array;
}

/** Every partition to the one member: the latency reader is alone in its group. */
const allToOne: GroupAssigner = {
  name: 'bench-peers-reader',
  version: 1,
  assign: ({ members, topics, partitionCounts }) => {
    const assignment: Record<string, number[]> = {};
    for (const topic of topics)
      assignment[topic] = Array.from({ length: partitionCounts.get(topic) ?? 0 }, (_, i) => i);
    return new Map(members.map((m, i) => [m.memberId, { assignment: i === 0 ? assignment : {} }]));
  },
};

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function measureLatency(options: {
  client: KafkaClient;
  input: string;
  output: string;
  partitions: number;
  workload: Workload;
  rate: number;
  warmupMs: number;
  durationMs: number;
  app: PeerProcess;
}): Promise<LatencyResult> {
  const { client, app, rate } = options;
  const reader = client.groupConsumer({
    groupId: `${options.output}-reader`,
    assigner: allToOne,
    maxWaitTimeMs: 100,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
  });
  let measureFrom = Number.POSITIVE_INFINITY;
  const latencies: number[] = [];
  let received = 0;
  let fromHeader = 0;
  let assigned = 0;
  reader.on('groupJoin', (e) => (assigned = e.assignment[options.output]?.length ?? 0));
  try {
    await reader.subscribe([options.output]);
    await reader.run(async (batch: ConsumedBatch) => {
      const visible = Date.now();
      for (const r of batch.records) {
        received++;
        const header = r.headers[SENT_HEADER];
        const raw = Array.isArray(header) ? header[0] : header;
        const sent = raw ? Number(raw.toString()) : r.timestamp;
        if (raw) fromHeader++;
        if (sent >= measureFrom) latencies.push(visible - sent);
      }
    });
    await waitFor(() => assigned === options.partitions, {
      timeoutMs: 60_000,
      what: `the latency reader owning all ${options.partitions} partitions of ${options.output}`,
    });
    await app.waitReady();

    // One producer per partition, the partitions sent concurrently: a producer has one
    // request in flight per broker (idempotence), so one producer would send them in turn
    // and could not hold the rate on one broker. A key keeps one partition (its index
    // modulo the partitions), all the counts need.
    const producers = Array.from({ length: options.partitions }, () => client.producer());
    const capacity = Math.ceil((rate * (options.warmupMs + options.durationMs)) / 1000) + 1;
    const timestamps = new Float64Array(capacity);
    let sent = 0;
    let sentInWindow = 0;
    const start = Date.now();
    measureFrom = start + options.warmupMs;
    const end = measureFrom + options.durationMs;
    try {
      for (let now = start; now < end; now = Date.now()) {
        app.assertRunning();
        // At most MAX_SEND records a send: a producer that fell behind catches up in
        // several sends, not one over the broker's message.max.bytes.
        const due = Math.min(
          MAX_SEND,
          Math.min(capacity, Math.floor(((now - start) * rate) / 1000)) - sent,
        );
        if (due > 0) {
          const at = Date.now();
          const byPartition: ProducerRecord[][] = producers.map(() => []);
          for (let i = sent; i < sent + due; i++) {
            timestamps[i] = at;
            const partition = (i % options.workload.keys) % options.partitions;
            byPartition[partition]!.push({
              key: inputKey(options.workload, i),
              value: inputValue(i),
              partition,
              timestamp: at,
              headers: { [SENT_HEADER]: String(at) },
            });
          }
          await Promise.all(
            byPartition.map((records, p) =>
              records.length > 0 ? producers[p]!.send(options.input, records) : Promise.resolve([]),
            ),
          );
          sent += due;
          if (at >= measureFrom) sentInWindow += due;
          if (due === MAX_SEND) continue; // behind: send the rest now
        }
        await sleep(5);
      }
    } finally {
      await Promise.all(producers.map((p) => p.close()));
    }
    await waitFor(
      () => {
        app.assertRunning();
        return received >= sent;
      },
      { timeoutMs: 60_000, what: `${sent} outputs of ${app.spec.system} in ${options.output}` },
    );
    const sorted = Float64Array.from(latencies).sort();
    return {
      targetRate: rate,
      achievedRate: sentInWindow / (options.durationMs / 1000),
      sent,
      received,
      samples: sorted.length,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
      fromHeader,
      timestamps: timestamps.subarray(0, sent),
    };
  } finally {
    await reader.close();
  }
}
