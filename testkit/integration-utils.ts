/**
 * Helpers for integration tests and demos against a real cluster, after
 * Kafka Streams' IntegrationTestUtils: produce records synchronously, and
 * wait until a topic holds a number of committed records.
 */
import { createKafkaClient, type KafkaClient } from '../framework/client/index.ts';
import type { KafkaConnection } from './kafka-cluster.ts';
import { waitFor } from './wait.ts';

export interface KeyValueRecord {
  key: string | Buffer | null;
  value: string | Buffer | null;
  partition?: number;
  timestamp?: number;
  headers?: Record<string, string | Buffer>;
}

export interface ReceivedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Record<string, Buffer | undefined>;
}

/** Bootstrap servers, or a whole connection (e.g. a secured cluster's `clientOptions()`). */
export type ClusterAddress = readonly string[] | KafkaConnection;

function client(address: ClusterAddress): Promise<KafkaClient> {
  const { brokers, ssl, sasl } = 'brokers' in address ? address : { brokers: address };
  return createKafkaClient({
    clientId: 'streamtx-testkit',
    brokers: [...brokers],
    ...(ssl === undefined ? {} : { ssl }),
    ...(sasl === undefined ? {} : { sasl }),
    logLevel: 'nothing',
    retry: { retries: 10, initialRetryTime: 100 },
  });
}

/** Produces records with an idempotent producer (acks=all) and returns once all are acknowledged. */
export async function produceRecords(
  brokers: ClusterAddress,
  topic: string,
  records: KeyValueRecord[],
): Promise<void> {
  const kafka = await client(brokers);
  const producer = kafka.producer();
  try {
    for (let i = 0; i < records.length; i += 1000) {
      await producer.send(
        topic,
        records.slice(i, i + 1000).map((r) => ({
          key: r.key,
          value: r.value,
          ...(r.partition === undefined ? {} : { partition: r.partition }),
          ...(r.timestamp === undefined ? {} : { timestamp: r.timestamp }),
          ...(r.headers === undefined ? {} : { headers: r.headers }),
        })),
      );
    }
  } finally {
    await kafka.close();
  }
}

/**
 * Reads every partition of a topic from the beginning with read_committed until at least
 * `count` records arrived (or times out naming the topic and how many came).
 */
export async function waitForRecords(
  brokers: ClusterAddress,
  topic: string,
  count: number,
  options: { timeoutMs?: number; onRecord?: (r: ReceivedRecord) => void } = {},
): Promise<ReceivedRecord[]> {
  const kafka = await client(brokers);
  const received: ReceivedRecord[] = [];
  const positions = new Map<number, bigint>();
  try {
    const partitions = (await kafka.admin.partitionCounts([topic])).get(topic) ?? 0;
    await waitFor(
      async () => {
        for (let p = 0; p < partitions; p++) {
          const from = positions.get(p) ?? 0n;
          const end = (await kafka.admin.endOffsets(topic, 'read_committed')).get(p) ?? 0n;
          if (end <= from) continue;
          for await (const batch of kafka.readPartition(topic, p, from, end)) {
            for (const m of batch) {
              const r: ReceivedRecord = {
                topic,
                partition: p,
                offset: m.offset.toString(),
                key: m.key,
                value: m.value,
                timestamp: m.timestamp,
                headers: flatHeaders(m.headers),
              };
              received.push(r);
              options.onRecord?.(r);
            }
          }
          positions.set(p, end);
        }
        return received.length >= count;
      },
      {
        intervalMs: 50,
        timeoutMs: options.timeoutMs ?? 60_000,
        what: `${count} committed records on ${topic} (got ${received.length})`,
      },
    );
  } finally {
    await kafka.close();
  }
  return received;
}

function flatHeaders(
  headers: Record<string, Buffer | Buffer[] | undefined>,
): Record<string, Buffer | undefined> {
  const out: Record<string, Buffer | undefined> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = Array.isArray(v) ? v[0] : v;
  return out;
}
