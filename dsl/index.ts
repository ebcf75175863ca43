/**
 * The typed DSL (Kafka Streams' StreamsBuilder, KStream, KTable, grouping, aggregations,
 * windows, suppression). It compiles to a framework Topology and adds no runtime: everything
 * runs in the exactly-once task cycle of StreamsApp (or in the TopologyTestDriver).
 *
 * @example Word count: lines → words → groupBy → count → output topic
 * ```ts
 * import { Serdes, StreamsApp } from 'streamtx';
 * import { StreamsBuilder } from 'streamtx/dsl';
 *
 * const builder = new StreamsBuilder();
 * builder
 *   .stream('text-lines', { keySerde: Serdes.string(), valueSerde: Serdes.string() })
 *   .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter(Boolean))
 *   .groupBy((_key, word) => word, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
 *   .count()
 *   .toStream()
 *   .to('word-counts'); // string keys, Serdes.long() counts
 *
 * const app = new StreamsApp(builder.build(), { applicationId: 'word-count', brokers: ['localhost:9092'] });
 * await app.start();
 * ```
 *
 * @example One final result per one-minute window
 * ```ts
 * builder
 *   .stream('trades', { keySerde: Serdes.string(), valueSerde: Serdes.json<Trade>() })
 *   .groupByKey()
 *   .windowedBy(TimeWindows.ofSize(60_000).grace(5_000))
 *   .aggregate(() => ({ volume: 0 }), (_symbol, trade, bin) => ({ volume: bin.volume + trade.quantity }), {
 *     valueSerde: Serdes.json<{ volume: number }>(),
 *   })
 *   .suppress(untilWindowCloses)
 *   .toStream()
 *   .to('bins'); // keys: WindowedSerdes.timeWindowed(Serdes.string(), 60_000)
 * ```
 *
 * @example Joins: enrich orders with their customer, and match payments to orders within 10 minutes
 * ```ts
 * const customers = builder.table('customers', { keySerde: Serdes.string(), valueSerde: Serdes.json<Customer>() });
 * const orders = builder.stream('orders', { keySerde: Serdes.string(), valueSerde: Serdes.json<Order>() });
 * orders
 *   .selectKey((_id, order) => order.customerId) // repartitioned, co-partitioned with customers
 *   .join(customers, (order, customer) => ({ ...order, customer: customer.name }))
 *   .to('enriched-orders', { valueSerde: Serdes.json() });
 * payments.join(orders, (payment, order) => ({ payment, order }), JoinWindows.ofTimeDifference(600_000).grace(60_000));
 * ```
 *
 * @module
 */

export { StreamsBuilder, type GlobalTableConsumed, type TableConsumed } from './streams-builder.ts';
export {
  KStream,
  BranchedKStream,
  type ForeachAction,
  type KeyValueMapper,
  type Predicate,
  type ValueJoiner,
  type ValueMapper,
} from './kstream.ts';
export { GlobalKTable } from './global-ktable.ts';
export {
  KGroupedStream,
  TimeWindowedKStream,
  SessionWindowedKStream,
  type Aggregator,
  type Initializer,
  type Merger,
  type Reducer,
} from './kgrouped-stream.ts';
export { KTable, KGroupedTable } from './ktable.ts';
export {
  EmitStrategy,
  Suppressed,
  untilWindowCloses,
  type Consumed,
  type Grouped,
  type Joined,
  type Materialized,
  type Named,
  type Produced,
  type Repartitioned,
  type StreamJoined,
  type TableJoined,
} from './options.ts';
export {
  JoinWindows,
  SessionWindows,
  SlidingWindows,
  TimeWindows,
  WindowedSerdes,
  type Window,
  type Windowed,
  type Windows,
} from './windows.ts';
export type { Change } from './internals/change.ts';
export type { ValueGetter, ValueGetterSupplier } from './internals/table.ts';
