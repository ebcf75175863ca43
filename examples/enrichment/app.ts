/**
 * Enrichment, the three joins a shop's order pipeline needs, with the DSL:
 *
 * - orders ⋈ customers (KStream–KTable): each order, re-keyed by its customer, meets the
 *   customer's row as of the order's time → `enriched-orders`. The key change makes the DSL
 *   route orders through `${applicationId}-orders-by-customer-repartition`, co-partitioned
 *   with the customers topic.
 * - payments ⋈ orders within 10 minutes (KStream–KStream, JoinWindows): a payment meets the
 *   orders of its order id from 10 minutes before to 10 minutes after it → `paid-orders`.
 * - orders ⋈ products by a foreign key (KTable–KTable, KIP-213): the latest row of each order
 *   meets the product it names, and follows that product's updates → `order-products`.
 *
 * Run a worker: `npx streamtx run examples/enrichment/app.ts` (BROKERS, APP_ID, STATE_DIR and
 * the topic names below from the environment); `npm run example:enrichment` runs it all on an
 * embedded broker.
 */
import { Serdes, type StreamsAppOptions, type Topology } from '../../framework/index.ts';
import { JoinWindows, StreamsBuilder } from '../../dsl/index.ts';

export interface Order {
  customer: string;
  product: string;
  amount: number;
}
export interface Customer {
  name: string;
}
export interface Product {
  name: string;
}
export interface Payment {
  amount: number;
}
export interface EnrichedOrder {
  order: string;
  customer: string;
  amount: number;
}
export interface PaidOrder {
  paid: number;
  ordered: number;
}
export interface OrderProduct {
  product: string;
  amount: number;
}

export interface EnrichmentTopics {
  orders: string;
  customers: string;
  products: string;
  payments: string;
  enrichedOrders: string;
  paidOrders: string;
  orderProducts: string;
}

/** How long a payment may come before or after its order and still join it. */
export const PAYMENT_WINDOW_MS = 10 * 60_000;

export function buildEnrichmentTopology(topics: EnrichmentTopics): Topology {
  const S = Serdes.string();
  const builder = new StreamsBuilder();
  const orders = builder.stream(topics.orders, { keySerde: S, valueSerde: Serdes.json<Order>() });
  const customers = builder.table(topics.customers, {
    keySerde: S,
    valueSerde: Serdes.json<Customer>(),
  });
  const products = builder.table(topics.products, {
    keySerde: S,
    valueSerde: Serdes.json<Product>(),
  });
  const payments = builder.stream(topics.payments, {
    keySerde: S,
    valueSerde: Serdes.json<Payment>(),
  });

  // The order id moves into the value: the join is by customer.
  orders
    .map((id, order) => ({ key: order.customer, value: { id, order } }), { name: 'by-customer' })
    .join(
      customers,
      ({ id, order }, customer): EnrichedOrder => ({
        order: id,
        customer: customer.name,
        amount: order.amount,
      }),
      { name: 'orders-by-customer', valueSerde: Serdes.json<{ id: string; order: Order }>() },
    )
    .to(topics.enrichedOrders, { valueSerde: Serdes.json<EnrichedOrder>() });

  payments
    .join(
      orders,
      (payment, order): PaidOrder => ({ paid: payment.amount, ordered: order.amount }),
      JoinWindows.ofTimeDifference(PAYMENT_WINDOW_MS),
      { name: 'payments-orders' },
    )
    .to(topics.paidOrders, { valueSerde: Serdes.json<PaidOrder>() });

  orders
    .toTable({ name: 'orders-table' })
    .join(
      products,
      (order) => order.product,
      (order, product): OrderProduct => ({ product: product.name, amount: order.amount }),
      { name: 'orders-products' },
      { valueSerde: Serdes.json<OrderProduct>() },
    )
    .toStream()
    .to(topics.orderProducts, { valueSerde: Serdes.json<OrderProduct>() });
  return builder.build();
}

// `streamtx run examples/enrichment/app.ts`: the worker module form.
const env = process.env;
export const topology = buildEnrichmentTopology({
  orders: env.ORDERS ?? 'orders',
  customers: env.CUSTOMERS ?? 'customers',
  products: env.PRODUCTS ?? 'products',
  payments: env.PAYMENTS ?? 'payments',
  enrichedOrders: env.ENRICHED_ORDERS ?? 'enriched-orders',
  paidOrders: env.PAID_ORDERS ?? 'paid-orders',
  orderProducts: env.ORDER_PRODUCTS ?? 'order-products',
});
export const options: StreamsAppOptions = {
  applicationId: env.APP_ID ?? 'enrichment',
  brokers: (env.BROKERS ?? env.STREAMTX_BOOTSTRAP ?? '127.0.0.1:9092').split(','),
  ...(env.STATE_DIR ? { stateDir: env.STATE_DIR } : {}),
};
