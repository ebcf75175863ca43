/**
 * Helpers for integration tests and demos against a real cluster, after
 * Kafka Streams' IntegrationTestUtils: produce records synchronously, and
 * wait until a topic holds a number of committed records.
 */
import { Kafka, logLevel } from 'kafkajs';
import { randomBytes } from 'node:crypto';
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

function client(brokers: readonly string[]): Kafka {
  return new Kafka({
    clientId: 'streamtx-testkit',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100 },
  });
}

/** Produces records with an idempotent producer (acks=all) and returns once all are acknowledged. */
export async function produceRecords(
  brokers: readonly string[],
  topic: string,
  records: KeyValueRecord[],
): Promise<void> {
  const producer = client(brokers).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 1000) {
      await producer.send({
        topic,
        acks: -1,
        messages: records.slice(i, i + 1000).map((r) => ({
          key: r.key,
          value: r.value,
          partition: r.partition,
          timestamp: r.timestamp === undefined ? undefined : String(r.timestamp),
          headers: r.headers,
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Reads a topic from the beginning with read_committed until at least
 * `count` records arrived (or times out naming the topic and how many came).
 */
export async function waitForRecords(
  brokers: readonly string[],
  topic: string,
  count: number,
  options: { timeoutMs?: number; onRecord?: (r: ReceivedRecord) => void } = {},
): Promise<ReceivedRecord[]> {
  const consumer = client(brokers).consumer({
    groupId: `streamtx-testkit-reader-${randomBytes(6).toString('hex')}`,
    readUncommitted: false,
  });
  const received: ReceivedRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const r: ReceivedRecord = {
          topic,
          partition,
          offset: message.offset,
          key: message.key ?? null,
          value: message.value ?? null,
          timestamp: Number(message.timestamp),
          headers: (message.headers ?? {}) as Record<string, Buffer | undefined>,
        };
        received.push(r);
        options.onRecord?.(r);
      },
    });
    await waitFor(() => received.length >= count, {
      timeoutMs: options.timeoutMs ?? 60_000,
      what: `${count} committed records on ${topic} (got ${received.length})`,
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}
