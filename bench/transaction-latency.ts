/**
 * Back-to-back transaction latency: raw kafkajs `producer.transaction()` with
 * default settings vs streamtx's client adapter, on a 1-broker and a
 * 3-broker cluster.
 *
 *   npm run bench:txn [-- --brokers 1,3 --transactions 300]
 *   STREAMTX_BOOTSTRAP=host:port npm run bench:txn   # an existing cluster
 *
 * Each transaction sends one record (acks=all) and commits. "gap" is the time
 * from commit() resolving to the next transaction's first send being
 * acknowledged: the time a task loses between two transactions. kafkajs waits
 * ~300 ms (its retrier's initialRetryTime, ±20 %) whenever the coordinator
 * answers the next AddPartitionsToTxn with CONCURRENT_TRANSACTIONS because it
 * is still writing the previous transaction's markers; the adapter retries
 * after 2, 4, 8, 16, then 20 ms (the Java client's backoff). Both are counted.
 *
 * A third run is a task's commit cycle through the adapter, phase by phase: one record to an
 * output partition and one to a changelog partition (sent together: AddPartitionsToTxn, then
 * Produce), the input offset (sendOffsets: AddOffsetsToTxn, then TxnOffsetCommit to the group
 * coordinator), then commit (EndTxn). These are the per-transaction round trips every task of
 * a worker pays each commit interval, whatever its record count.
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
// eslint-disable-next-line no-restricted-imports -- the raw kafkajs baseline this bench compares the adapter with
import kafkajs from 'kafkajs';
import { KafkaCluster } from '../testkit/index.ts';
import { createKafkaClient } from '../framework/client/index.ts';
import type { ConcurrentTransactionsRetry } from '../framework/client/index.ts';

const { values: args } = parseArgs({
  options: {
    brokers: { type: 'string', default: '1,3' },
    transactions: { type: 'string', default: '300' },
  },
});
const brokerCounts = (
  process.env.STREAMTX_BOOTSTRAP ? ['external'] : (args.brokers ?? '1,3').split(',')
).map((s) => s.trim());
const transactions = Number(args.transactions);

interface Result {
  setup: string;
  variant: string;
  gaps: number[];
  commits: number[];
  concurrentRetries: number;
  maxRetryWaitMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const CONCURRENT = 'another concurrent operation on the same transaction';

async function rawKafkajs(brokers: string[], topic: string): Promise<Omit<Result, 'setup'>> {
  let concurrentRetries = 0;
  let maxRetryWaitMs = 0;
  const kafka = new kafkajs.Kafka({
    brokers,
    clientId: 'bench-raw',
    logLevel: kafkajs.logLevel.ERROR,
    // kafkajs logs each retry of the send path at ERROR with the wait it is about to do.
    logCreator: () => (entry) => {
      const { message, retryTime } = entry.log as { message: string; retryTime?: number };
      if (message.includes(CONCURRENT) && typeof retryTime === 'number') {
        concurrentRetries++;
        maxRetryWaitMs = Math.max(maxRetryWaitMs, retryTime);
      }
    },
  });
  const producer = kafka.producer({
    transactionalId: `bench-raw-${randomUUID()}`,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const gaps: number[] = [];
  const commits: number[] = [];
  let committedAt: number | undefined;
  for (let i = 0; i <= transactions; i++) {
    const tx = await producer.transaction();
    await tx.send({ topic, messages: [{ key: `k${i}`, value: `v${i}`, partition: i % 3 }] });
    if (committedAt !== undefined) gaps.push(performance.now() - committedAt);
    const start = performance.now();
    await tx.commit();
    committedAt = performance.now();
    if (i > 0) commits.push(committedAt - start); // the first includes InitProducerId
  }
  await producer.disconnect();
  return { variant: 'raw kafkajs (defaults)', gaps, commits, concurrentRetries, maxRetryWaitMs };
}

async function adapter(brokers: string[], topic: string): Promise<Omit<Result, 'setup'>> {
  const retries: ConcurrentTransactionsRetry[] = [];
  const client = await createKafkaClient({ brokers, clientId: 'bench-adapter' });
  const producer = client.transactionalProducer(`bench-adapter-${randomUUID()}`, {
    observer: { concurrentTransactionsRetry: (e) => retries.push(e) },
  });
  await producer.init();
  const gaps: number[] = [];
  const commits: number[] = [];
  let committedAt: number | undefined;
  for (let i = 0; i <= transactions; i++) {
    producer.begin();
    await producer.send(topic, [{ key: `k${i}`, value: `v${i}`, partition: i % 3 }]);
    if (committedAt !== undefined) gaps.push(performance.now() - committedAt);
    const start = performance.now();
    await producer.commit();
    committedAt = performance.now();
    if (i > 0) commits.push(committedAt - start);
  }
  await client.close();
  return {
    variant: 'streamtx adapter',
    gaps,
    commits,
    concurrentRetries: retries.length,
    maxRetryWaitMs: Math.max(0, ...retries.map((r) => r.waitMs)),
  };
}

interface Phases {
  send: number[];
  sendOffsets: number[];
  commit: number[];
  cycle: number[];
  /** CONCURRENT_TRANSACTIONS retries (by the adapter) during each transaction's send phase. */
  sendRetries: number[];
  /** The same during its sendOffsets phase (AddOffsetsToTxn). */
  offsetRetries: number[];
  /** The waits those retries took (the adapter's backoff grows with the attempt). */
  backoffsMs: Set<number>;
}

async function taskCycle(brokers: string[], topic: string): Promise<Phases> {
  const client = await createKafkaClient({ brokers, clientId: 'bench-cycle' });
  const phases: Phases = {
    send: [],
    sendOffsets: [],
    commit: [],
    cycle: [],
    sendRetries: [],
    offsetRetries: [],
    backoffsMs: new Set(),
  };
  let retries = 0;
  const producer = client.transactionalProducer(`bench-cycle-${randomUUID()}`, {
    observer: {
      concurrentTransactionsRetry: (e) => {
        retries++;
        phases.backoffsMs.add(e.waitMs);
      },
    },
  });
  const group = `bench-cycle-${randomUUID()}`;
  await producer.init();
  for (let i = 0; i <= transactions; i++) {
    const t0 = performance.now();
    retries = 0;
    producer.begin();
    // Output and changelog: two partitions of the transaction, as a task with a store has.
    await Promise.all([
      producer.send(topic, [{ key: `k${i}`, value: `v${i}`, partition: 0 }]),
      producer.send(topic, [{ key: `k${i}`, value: `c${i}`, partition: 1 }]),
    ]);
    const t1 = performance.now();
    const sendRetries = retries;
    await producer.sendOffsets(group, [{ topic, partition: 2, offset: BigInt(i) }]);
    const t2 = performance.now();
    await producer.commit();
    const t3 = performance.now();
    if (i === 0) continue; // the first includes the group coordinator's lookup
    phases.send.push(t1 - t0);
    phases.sendOffsets.push(t2 - t1);
    phases.commit.push(t3 - t2);
    phases.cycle.push(t3 - t0);
    phases.sendRetries.push(sendRetries);
    phases.offsetRetries.push(retries - sendRetries);
  }
  await client.close();
  return phases;
}

async function onCluster(setup: string): Promise<Result[]> {
  const cluster =
    setup === 'external'
      ? await KafkaCluster.fromEnv()
      : await KafkaCluster.start({ brokers: Number(setup) });
  try {
    const client = await createKafkaClient({
      brokers: cluster.bootstrapServers,
      clientId: 'bench-admin',
    });
    const size = (await client.admin.describeCluster()).brokers.length;
    await client.close();
    const label = `${size} broker${size === 1 ? '' : 's'}`;
    const results: Result[] = [];
    const cycleTopic = `bench-cycle-${randomUUID().slice(0, 8)}`;
    await cluster.createTopic(cycleTopic, { partitions: 3, replicationFactor: Math.min(3, size) });
    process.stderr.write(`${label}: taskCycle ...\n`);
    cycles.push({ setup: label, phases: await taskCycle(cluster.bootstrapServers, cycleTopic) });
    // Alternate the order so neither variant always runs on a warmer JVM.
    for (const run of [rawKafkajs, adapter]) {
      const topic = `bench-txn-${randomUUID().slice(0, 8)}`;
      await cluster.createTopic(topic, { partitions: 3, replicationFactor: Math.min(3, size) });
      process.stderr.write(`${label}: ${run.name} ...\n`);
      results.push({ setup: label, ...(await run(cluster.bootstrapServers, topic)) });
    }
    return results;
  } finally {
    await cluster.stop();
  }
}

const all: Result[] = [];
const cycles: { setup: string; phases: Phases }[] = [];
for (const setup of brokerCounts) all.push(...(await onCluster(setup)));

const fmt = (n: number): string => n.toFixed(1).padStart(7);
console.log(
  `\nBack-to-back transactions: ${transactions} per run, 1 record (acks=all) per transaction, 3 partitions, RF=min(3, brokers)`,
);
console.log("gap = commit() resolved -> next transaction's first send acked (ms)\n");
console.log(
  `${'setup'.padEnd(10)} ${'variant'.padEnd(24)} ${'gap p50'.padStart(7)} ${'gap p99'.padStart(7)} ${'gap max'.padStart(7)} ${'commit p50'.padStart(10)} ${'commit p99'.padStart(10)}  CONCURRENT_TRANSACTIONS retries (max wait ms)`,
);
for (const r of all) {
  const g = [...r.gaps].sort((a, b) => a - b);
  const c = [...r.commits].sort((a, b) => a - b);
  console.log(
    `${r.setup.padEnd(10)} ${r.variant.padEnd(24)} ${fmt(percentile(g, 50))} ${fmt(percentile(g, 99))} ${fmt(g.at(-1) ?? NaN)} ${fmt(percentile(c, 50)).padStart(10)} ${fmt(percentile(c, 99)).padStart(10)}  ${r.concurrentRetries} (${r.maxRetryWaitMs})`,
  );
}

console.log(
  `\nA task's commit cycle through the adapter, ${transactions} transactions: 2 records (output + changelog partition), sendOffsets, commit (ms)\n`,
);
console.log(
  `${'setup'.padEnd(10)} ${'phase'.padEnd(40)} ${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)}`,
);
for (const { setup, phases } of cycles) {
  const rows: [string, number[]][] = [
    ['send (AddPartitionsToTxn + Produce)', phases.send],
    ['sendOffsets (AddOffsetsToTxn + TxnOffsetCommit)', phases.sendOffsets],
    ['commit (EndTxn)', phases.commit],
    ['whole cycle', phases.cycle],
  ];
  for (const [name, xs] of rows) {
    const v = [...xs].sort((a, b) => a - b);
    console.log(
      `${setup.padEnd(10)} ${name.padEnd(40)} ${fmt(percentile(v, 50))} ${fmt(percentile(v, 99))} ${fmt(v.at(-1) ?? NaN)}`,
    );
  }
  // Each retry waits the adapter's backoff: the coordinator was still completing
  // the previous transaction (writing its markers) when this one asked to add partitions.
  for (const [name, xs] of [
    ['send: CONCURRENT_TRANSACTIONS retries', phases.sendRetries],
    ['sendOffsets: CONCURRENT_TRANSACTIONS retries', phases.offsetRetries],
  ] as const) {
    const v = [...xs].sort((a, b) => a - b);
    const some = xs.filter((n) => n > 0).length;
    console.log(
      `${setup.padEnd(10)} ${name.padEnd(40)} ${fmt(percentile(v, 50))} ${fmt(percentile(v, 99))} ${fmt(v.at(-1) ?? NaN)}  (in ${some} of ${xs.length} transactions)`,
    );
  }
  const waits = [...phases.backoffsMs].sort((a, b) => a - b);
  console.log(`${setup.padEnd(10)} retries waited ${waits.join('/') || '–'} ms (by attempt)`);
}
