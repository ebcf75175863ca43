// The enrichment example's topology on the TopologyTestDriver: the three joins record by record.
import t from 'tap';
import { Serdes } from '../../framework/index.ts';
import { TopologyTestDriver } from '../../testkit/index.ts';
import {
  buildEnrichmentTopology,
  PAYMENT_WINDOW_MS,
  type Customer,
  type EnrichedOrder,
  type Order,
  type OrderProduct,
  type PaidOrder,
  type Payment,
  type Product,
} from '../../examples/enrichment/app.ts';

const S = Serdes.string();
const topics = {
  orders: 'orders',
  customers: 'customers',
  products: 'products',
  payments: 'payments',
  enrichedOrders: 'enriched',
  paidOrders: 'paid',
  orderProducts: 'order-products',
};

t.test('enrichment: stream–table, stream–stream within 10 min, and by foreign key', async (t) => {
  const topology = buildEnrichmentTopology(topics);
  t.match(
    topology.describe().toString(),
    /Sink: orders-by-customer-left-repartition-sink \(topic: orders-by-customer-left-repartition\)/,
    'orders re-keyed by customer are repartitioned before the table join',
  );
  const driver = new TopologyTestDriver(topology, { applicationId: 'enrich' });
  t.teardown(() => driver.close());
  const customers = driver.createInputTopic('customers', S, Serdes.json<Customer>());
  const products = driver.createInputTopic('products', S, Serdes.json<Product>());
  const orders = driver.createInputTopic('orders', S, Serdes.json<Order>());
  const payments = driver.createInputTopic('payments', S, Serdes.json<Payment>());
  const min = 60_000;
  await customers.pipeInput('c1', { name: 'Ann' }, 0);
  await products.pipeInput('p1', { name: 'shoes' }, 0);
  await products.pipeInput('p2', { name: 'socks' }, 0);
  await orders.pipeInput('o1', { customer: 'c1', product: 'p1', amount: 30 }, 1 * min);
  await orders.pipeInput('o2', { customer: 'c2', product: 'p2', amount: 5 }, 2 * min);
  await customers.pipeInput('c2', { name: 'Bob' }, 3 * min);
  await orders.pipeInput('o3', { customer: 'c2', product: 'p2', amount: 12 }, 4 * min);
  await payments.pipeInput('o1', { amount: 30 }, 5 * min);
  await payments.pipeInput('o2', { amount: 5 }, 2 * min + PAYMENT_WINDOW_MS + 1);
  await payments.pipeInput('o3', { amount: 12 }, 4 * min + PAYMENT_WINDOW_MS);
  await products.pipeInput('p2', { name: 'wool socks' }, 20 * min);

  t.same(
    driver.createOutputTopic('enriched', S, Serdes.json<EnrichedOrder>()).readKeyValuesToList(),
    [
      { key: 'c1', value: { order: 'o1', customer: 'Ann', amount: 30 } },
      { key: 'c2', value: { order: 'o3', customer: 'Bob', amount: 12 } },
    ],
    'o2 came before its customer: an inner stream–table join drops it',
  );
  t.same(
    driver.createOutputTopic('paid', S, Serdes.json<PaidOrder>()).readKeyValuesToList(),
    [
      { key: 'o1', value: { paid: 30, ordered: 30 } },
      { key: 'o3', value: { paid: 12, ordered: 12 } },
    ],
    'a payment 10 min after its order joins; one 10 min + 1 ms after does not',
  );
  t.same(
    driver
      .createOutputTopic('order-products', S, Serdes.json<OrderProduct>())
      .readKeyValuesToList(),
    [
      { key: 'o1', value: { product: 'shoes', amount: 30 } },
      { key: 'o2', value: { product: 'socks', amount: 5 } },
      { key: 'o3', value: { product: 'socks', amount: 12 } },
      { key: 'o2', value: { product: 'wool socks', amount: 5 } },
      { key: 'o3', value: { product: 'wool socks', amount: 12 } },
    ],
    'a product update reaches every order that names it',
  );
});
