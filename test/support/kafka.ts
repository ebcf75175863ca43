import {
  createKafkaClient,
  type KafkaClient,
  type RetryOptions,
  type TransactionalProducer,
} from '../../framework/client/index.ts';
import { waitFor, type ClusterAddress } from '../../testkit/index.ts';

/** A client of the adapter for test drivers and readers (tests talk to Kafka directly to judge the framework). */
export function testClient(
  brokers: string[],
  retry: RetryOptions = { retries: 10, initialRetryTime: 100 },
): Promise<KafkaClient> {
  return createKafkaClient({ clientId: 'streamtx-test', brokers, logLevel: 'nothing', retry });
}

/** Retries InitProducerId while a coordinator that just moved is loading. */
export async function transactionalProducer(
  kafka: KafkaClient,
  transactionalId: string,
): Promise<TransactionalProducer> {
  return waitFor(
    async () => {
      const producer = kafka.transactionalProducer(transactionalId, {
        transactionTimeoutMs: 30_000,
      });
      try {
        await producer.init();
        return producer;
      } catch {
        // A moved coordinator still loading, or a seed broker that is paused
        // ('Broker not connected'): try again until the deadline.
        await producer.close().catch(() => undefined);
        return false;
      }
    },
    { timeoutMs: 60_000, what: `a transactional producer for ${transactionalId}` },
  );
}

/** Records of a partition's committed offsets summed (the group's progress on a topic). */
export async function totalCommitted(
  kafka: KafkaClient,
  groupId: string,
  topic: string,
): Promise<number> {
  let sum = 0n;
  for (const o of (await kafka.admin.committedOffsets(groupId, topic)).values()) sum += o;
  return Number(sum);
}

/** Records in a topic written without transactions: the sum of its high watermarks. */
export async function totalRecords(kafka: KafkaClient, topic: string): Promise<number> {
  let sum = 0n;
  for (const o of (await kafka.admin.endOffsets(topic, 'read_uncommitted')).values()) sum += o;
  return Number(sum);
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
  address: ClusterAddress,
  topic: string,
  timeoutMs = 90_000,
): Promise<ReadRecord[]> {
  const { brokers, ...security } = 'brokers' in address ? address : { brokers: address };
  const client = await createKafkaClient({
    ...security,
    brokers: [...brokers],
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
  kafka: KafkaClient,
  topic: string,
  from: number,
  count: number,
  keys = 16,
): Promise<void> {
  const producer = kafka.producer();
  try {
    for (let start = from; start < from + count; start += 500) {
      const n = Math.min(500, from + count - start);
      await producer.send(
        topic,
        Array.from({ length: n }, (_, i) => ({
          key: `k${(start + i) % keys}`,
          value: String(start + i),
        })),
      );
    }
  } finally {
    await producer.close();
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
  brokers: string[],
  topic: string,
  perSecond = 400,
  keys = 16,
): { stop(): Promise<{ attempted: number; failedBatches: number }> } {
  let running = true;
  let next = 0;
  let failedBatches = 0;
  const started = Date.now();
  const loop = (async () => {
    const kafka = await testClient(brokers, { retries: 20, maxRetryTime: 2000 });
    const producer = kafka.producer();
    while (running) {
      const due = Math.floor(((Date.now() - started) / 1000) * perSecond) + 50;
      if (due > next) {
        const from = next;
        next = due;
        try {
          await producer.send(
            topic,
            Array.from({ length: due - from }, (_, i) => ({
              key: `k${(from + i) % keys}`,
              value: String(from + i),
            })),
          );
        } catch {
          failedBatches++;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50)); // pacing the load, not synchronising
    }
    await kafka.close();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { attempted: next, failedBatches };
    },
  };
}
