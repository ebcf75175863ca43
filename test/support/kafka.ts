import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createKafkaClient } from '../../framework/client/index.ts';
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
      } catch {
        // A moved coordinator still loading, or a seed broker that is paused
        // ('Broker not connected'): try again until the deadline.
        await producer.disconnect().catch(() => undefined);
        return false;
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

/**
 * Everything a read_committed reader sees on a topic, Kafka's EOS system
 * test way: first wait until every transaction on it has finished (for each
 * partition the read_committed end equals the read_uncommitted end), then
 * read each partition from its start to that end. Nothing is written to the
 * topic, and nothing written before the call (a duplicate, an aborted
 * record) can be missed.
 */
export async function readCommitted(
  brokers: string[],
  topic: string,
  timeoutMs = 90_000,
): Promise<ReadRecord[]> {
  const client = createKafkaClient({
    brokers,
    clientId: 'streamtx-test-reader',
    logLevel: 'nothing',
  });
  try {
    const ends = await waitFor(
      async () => {
        const stable = await client.admin.endOffsets(topic, 'read_committed');
        const high = await client.admin.endOffsets(topic, 'read_uncommitted');
        return [...high].every(([p, h]) => stable.get(p) === h) ? high : false;
      },
      { timeoutMs, intervalMs: 250, what: `every transaction on ${topic} to finish` },
    );
    const records: ReadRecord[] = [];
    for (const [partition, end] of [...ends].sort((a, b) => a[0] - b[0])) {
      if (end === 0n) continue;
      for await (const batch of client.readPartition(topic, partition, 0n, end, { timeoutMs })) {
        for (const r of batch) {
          records.push({
            partition,
            offset: r.offset.toString(),
            key: r.key?.toString() ?? '',
            value: r.value?.toString() ?? '',
          });
        }
      }
    }
    return records;
  } finally {
    await client.close();
  }
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

/**
 * Compares output values with the input values actually in the input topic
 * (a multiset): what is missing, what appears more often than in the input,
 * what was never input.
 */
export function exactlyOnceReport(
  input: string[],
  output: string[],
): { missing: string[]; duplicates: string[]; unexpected: string[] } {
  const want = new Map<string, number>();
  for (const v of input) want.set(v, (want.get(v) ?? 0) + 1);
  const got = new Map<string, number>();
  for (const v of output) got.set(v, (got.get(v) ?? 0) + 1);
  const missing = [...want].filter(([v, c]) => (got.get(v) ?? 0) < c).map(([v]) => v);
  const duplicates = [...got]
    .filter(([v, c]) => want.has(v) && c > want.get(v)!)
    .map(([v, c]) => `${v}×${c}`);
  const unexpected = [...got.keys()].filter((v) => !want.has(v));
  return { missing, duplicates, unexpected };
}

/**
 * Produces about `perSecond` records a second (values 0, 1, 2, ...) from one
 * idempotent producer until stopped. A batch whose send fails (a broker was
 * just killed) is not re-sent — it may or may not have been written — so
 * tests compare the output with the input topic as it is, not with a count.
 */
export function backgroundLoad(
  kafka: Kafka,
  topic: string,
  perSecond = 400,
  keys = 16,
): { stop(): Promise<{ attempted: number; failedBatches: number }> } {
  let running = true;
  let next = 0;
  let failedBatches = 0;
  const started = Date.now();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: 20, maxRetryTime: 2000 },
  });
  const loop = (async () => {
    await producer.connect();
    while (running) {
      const due = Math.floor(((Date.now() - started) / 1000) * perSecond) + 50;
      if (due > next) {
        const from = next;
        next = due;
        try {
          await producer.send({
            topic,
            acks: -1,
            messages: Array.from({ length: due - from }, (_, i) => ({
              key: `k${(from + i) % keys}`,
              value: String(from + i),
            })),
          });
        } catch {
          failedBatches++;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50)); // pacing the load, not synchronising
    }
    await producer.disconnect();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { attempted: next, failedBatches };
    },
  };
}
