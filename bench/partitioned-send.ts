/**
 * What sending one partition per request costs (framework/client/kafkajs/
 * partitioned-send.ts): the time to send a transaction's records and have
 * them acknowledged, raw kafkajs (one send; one request per leader) vs the
 * adapter (one request per partition), on a 3-broker cluster, with the
 * records spread over 6 partitions (every broker leads some) and, as the
 * common case of a co-partitioned task, all in one partition.
 *
 *   npm run bench:partitioned-send [-- --transactions 200 --records 600]
 *
 * Measured (2 cores, Node 20.20, Kafka 4.4.0, 3 local brokers, 200
 * transactions × 600 records): spread over 6 partitions, send p50 33.7 ms
 * kafkajs vs 67.4 ms adapter (2.0×; kafkajs's per-broker lock then sends the
 * two partitions a broker leads one after the other, and each partition's
 * first send of a transaction is its own AddPartitionsToTxn); one partition,
 * 25.7 vs 21.0 ms (0.82×). The price of not losing or duplicating records
 * when a broker fails; a co-partitioned task pays nothing.
 *
 * Only the send is timed (begin → every record acknowledged), not the
 * commit: kafkajs's commit path differs from the adapter's for other reasons
 * (bench:txn). The variants alternate transaction by transaction so machine
 * noise hits both alike.
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
// eslint-disable-next-line no-restricted-imports -- the raw kafkajs baseline this bench compares the adapter with
import kafkajs from 'kafkajs';
import { KafkaCluster } from '../testkit/index.ts';
import { createKafkaClient } from '../framework/client/index.ts';

const { values: args } = parseArgs({
  options: {
    transactions: { type: 'string', default: '200' },
    records: { type: 'string', default: '600' },
  },
});
const TRANSACTIONS = Number(args.transactions);
const RECORDS = Number(args.records);
const PARTITIONS = 6;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

const cluster = await KafkaCluster.fromEnv({ brokers: 3 });
try {
  const topic = `bench-split-${randomUUID().slice(0, 8)}`;
  await cluster.createTopic(topic, { partitions: PARTITIONS, replicationFactor: 3 });
  const leaders = await Promise.all(
    Array.from({ length: PARTITIONS }, (_, p) => cluster.leaderOf(topic, p)),
  );

  const kafka = new kafkajs.Kafka({
    brokers: cluster.bootstrapServers,
    clientId: 'bench-split-raw',
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const raw = kafka.producer({
    transactionalId: `bench-split-raw-${randomUUID()}`,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await raw.connect();
  const client = await createKafkaClient({
    brokers: cluster.bootstrapServers,
    clientId: 'bench-split',
    logLevel: 'nothing',
  });
  const adapter = client.transactionalProducer(`bench-split-adapter-${randomUUID()}`);
  await adapter.init();

  const records = (spread: boolean, i: number): { key: string; value: string }[] =>
    Array.from({ length: RECORDS }, (_, j) => ({
      key: spread ? `k${j}` : 'one-key',
      value: `v${i}-${j}`,
    }));

  const times: Record<string, number[]> = {};
  const time = async (name: string, fn: () => Promise<void>): Promise<void> => {
    const started = performance.now();
    await fn();
    (times[name] ??= []).push(performance.now() - started);
  };

  for (let i = 0; i < TRANSACTIONS; i++) {
    for (const spread of [true, false]) {
      const where = spread ? `${PARTITIONS} partitions` : '1 partition';
      const tx = await raw.transaction();
      await time(`kafkajs, ${where}`, async () => {
        await tx.send({ topic, acks: -1, messages: records(spread, i) });
      });
      await tx.commit();
      adapter.begin();
      await time(`adapter, ${where}`, async () => {
        await adapter.send(topic, records(spread, i));
      });
      await adapter.commit();
    }
  }
  await raw.disconnect();
  await client.close();

  console.log(
    `partitioned send: ${TRANSACTIONS} transactions × ${RECORDS} records per variant; 3 brokers ` +
      `(partition leaders ${leaders.join(',')}); ${cpus().length} cores, Node ${process.version}`,
  );
  console.log('variant                    send p50 ms  p99 ms  records/s (send only)');
  for (const [name, xs] of Object.entries(times)) {
    const total = xs.reduce((a, b) => a + b, 0);
    console.log(
      `${name.padEnd(26)} ${percentile(xs, 50).toFixed(1).padStart(11)} ${percentile(xs, 99)
        .toFixed(1)
        .padStart(7)}  ${Math.round((xs.length * RECORDS) / (total / 1000))}`,
    );
  }
  for (const where of [`${PARTITIONS} partitions`, '1 partition']) {
    const a = percentile(times[`adapter, ${where}`] ?? [], 50);
    const k = percentile(times[`kafkajs, ${where}`] ?? [], 50);
    console.log(`${where}: adapter/kafkajs send p50 = ${(a / k).toFixed(2)}`);
  }
} finally {
  await cluster.stop();
}
