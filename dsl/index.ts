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
 * @module
 */

export { StreamsBuilder, type TableConsumed } from './streams-builder.ts';
export {
  KStream,
  BranchedKStream,
  type ForeachAction,
  type KeyValueMapper,
  type Predicate,
  type ValueMapper,
} from './kstream.ts';
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
  type Materialized,
  type Named,
  type Produced,
  type Repartitioned,
} from './options.ts';
export {
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
