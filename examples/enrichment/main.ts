/**
 * `npm run example:enrichment`: the enrichment joins end to end. Starts a local Apache Kafka
 * broker (or uses STREAMTX_BOOTSTRAP), the enrichment app, and a producer of customers,
 * products, orders and payments (event times in the last hour: brokers reject timestamps far
 * from now); prints the topology, then every joined record as it is committed; then stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamsApp } from '../../framework/index.ts';
import {
  KafkaCluster,
  produceRecords,
  waitForRecords,
  type KeyValueRecord,
} from '../../testkit/index.ts';
import { buildEnrichmentTopology, PAYMENT_WINDOW_MS } from './app.ts';

const log = (line: string): void => void process.stdout.write(line + '\n');
const json = (key: string, value: unknown, timestamp: number): KeyValueRecord => ({
  key,
  value: JSON.stringify(value),
  timestamp,
});

async function main(): Promise<void> {
  log('starting a local Apache Kafka broker (the first run fetches it from Maven Central)...');
  const cluster = await KafkaCluster.fromEnv({ brokers: 1 });
  const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-enrichment-'));
  const run = Date.now().toString(36);
  const topics = {
    orders: `orders-${run}`,
    customers: `customers-${run}`,
    products: `products-${run}`,
    payments: `payments-${run}`,
    enrichedOrders: `enriched-orders-${run}`,
    paidOrders: `paid-orders-${run}`,
    orderProducts: `order-products-${run}`,
  };
  let app: StreamsApp | undefined;
  try {
    // Joined inputs must be co-partitioned: the same partition count everywhere.
    for (const topic of Object.values(topics)) await cluster.createTopic(topic, { partitions: 2 });
    const topology = buildEnrichmentTopology(topics);
    log(`Kafka ${cluster.version} at ${cluster.bootstrapServers.join(',')}\n`);
    log(topology.describe().toString());
    app = new StreamsApp(topology, {
      applicationId: `enrichment-${run}`,
      brokers: cluster.bootstrapServers,
      stateDir,
      replicationFactor: 1,
      logLevel: 'warn',
    });
    await app.start();
    const min = 60_000;
    const t0 = Date.now() - 60 * min;
    const address = cluster.bootstrapServers;
    // Tables first: a task picks the record with the smallest timestamp across its
    // partitions, so each order meets the customer row as of the order's time.
    await produceRecords(address, topics.customers, [
      json('c1', { name: 'Ann' }, t0),
      json('c2', { name: 'Bob' }, t0),
    ]);
    await produceRecords(address, topics.products, [
      json('p1', { name: 'shoes' }, t0),
      json('p2', { name: 'socks' }, t0),
    ]);
    const printers = [
      [topics.enrichedOrders, 3],
      [topics.paidOrders, 2],
      [topics.orderProducts, 3],
    ].map(([topic, count]) =>
      waitForRecords(address, topic as string, count as number, {
        timeoutMs: 180_000,
        onRecord: (r) =>
          log(
            `${(topic as string).replace(`-${run}`, '').padEnd(16)} ${String(r.key)} ${String(r.value)}`,
          ),
      }),
    );
    await produceRecords(address, topics.orders, [
      json('o1', { customer: 'c1', product: 'p1', amount: 30 }, t0 + 1 * min),
      json('o2', { customer: 'c2', product: 'p2', amount: 5 }, t0 + 2 * min),
      json('o3', { customer: 'c1', product: 'p2', amount: 12 }, t0 + 3 * min),
    ]);
    await produceRecords(address, topics.payments, [
      json('o1', { amount: 30 }, t0 + 5 * min), // 4 min after o1: joins
      json('o2', { amount: 5 }, t0 + 2 * min + PAYMENT_WINDOW_MS + 1), // too late: no result
      json('o3', { amount: 12 }, t0 + 13 * min), // exactly 10 min after o3: joins
    ]);
    await Promise.all(printers);
    log('\nevery joined record above was read with read_committed');
  } finally {
    await app?.close();
    await cluster.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `enrichment failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
