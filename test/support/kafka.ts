import { Kafka, logLevel, type Producer } from 'kafkajs';
import { waitFor } from '../../testkit/index.ts';
import { uniqueName } from './ids.ts';

/** A kafkajs client for test drivers and readers (tests talk to Kafka directly to judge the framework). */
export function testClient(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'streamtx-test',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100 },
  });
}

/** Retries InitProducerId while a coordinator that just moved is loading. */
export async function transactionalProducer(
  kafka: Kafka,
  transactionalId: string,
): Promise<Producer> {
  return waitFor(
    async () => {
      const producer = kafka.producer({
        transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      try {
        await producer.connect();
        return producer;
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        if ((err as { cause?: { retriable?: boolean } }).cause?.retriable) return false;
        throw err;
      }
    },
    { timeoutMs: 60_000, what: `a transactional producer for ${transactionalId}` },
  );
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string;
  value: string;
}

const END = '__streamtx_end__';

/**
 * Everything a read_committed reader sees on a topic: first commits an end
 * marker to every partition, then reads until each partition's marker, so
 * nothing written before it (a duplicate, an aborted record) can be missed.
 */
export async function readCommitted(
  kafka: Kafka,
  topic: string,
  timeoutMs = 90_000,
): Promise<ReadRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const partitions = (await admin.fetchTopicOffsets(topic)).map((p) => p.partition);
  await admin.disconnect();
  const marker = await transactionalProducer(kafka, uniqueName('end-marker'));
  const txn = await marker.transaction();
  await txn.send({
    topic,
    messages: partitions.map((partition) => ({ partition, key: END, value: END })),
  });
  await txn.commit();
  await marker.disconnect();

  const consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: false });
  const records: ReadRecord[] = [];
  const ended = new Set<number>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const value = message.value?.toString() ?? '';
        if (value === END) ended.add(partition);
        else
          records.push({
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? '',
            value,
          });
      },
    });
    await waitFor(() => ended.size === partitions.length, {
      timeoutMs,
      what: `the end marker on every partition of ${topic}`,
    });
  } finally {
    await consumer.disconnect();
  }
  return records.sort(
    (a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)),
  );
}

/** Produces `count` keyed records (`k<i % keys>`, value `<i>`) with an idempotent producer. */
export async function produceSequence(
  kafka: Kafka,
  topic: string,
  from: number,
  count: number,
  keys = 16,
): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let start = from; start < from + count; start += 500) {
      const n = Math.min(500, from + count - start);
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: n }, (_, i) => ({
          key: `k${(start + i) % keys}`,
          value: String(start + i),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Compares output values with the input sequence 0..n-1: what is missing, what appears more than once. */
export function exactlyOnceReport(
  n: number,
  values: string[],
): { missing: number[]; duplicates: string[]; unexpected: string[] } {
  const seen = new Map<string, number>();
  for (const v of values) seen.set(v, (seen.get(v) ?? 0) + 1);
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!seen.has(String(i))) missing.push(i);
  const duplicates = [...seen].filter(([, c]) => c > 1).map(([v, c]) => `${v}×${c}`);
  const unexpected = [...seen.keys()].filter((v) => !/^\d+$/.test(v) || Number(v) >= n);
  return { missing, duplicates, unexpected };
}
