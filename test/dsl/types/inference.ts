// Type-level fixture for the DSL, checked by test/dsl/types.test.ts: every line after a
// `@ts-expect-error` must fail to compile, and nothing else may. Never run.
import { Serdes, type Serde } from '../../../framework/index.ts';
import {
  SessionWindows,
  StreamsBuilder,
  TimeWindows,
  untilWindowCloses,
  type KStream,
  type KTable,
  type Windowed,
} from '../../../dsl/index.ts';

interface Trade {
  symbol: string;
  price: number;
  quantity: number;
}

declare function expectType<T>(value: T): void;

const builder = new StreamsBuilder();
const trades = builder.stream('trades', {
  keySerde: Serdes.string(),
  valueSerde: Serdes.json<Trade>(),
});
expectType<KStream<string, Trade>>(trades);

// Inference through a chain.
const prices = trades.filter((_symbol, trade) => trade.price > 0).mapValues((trade) => trade.price);
expectType<KStream<string, number>>(prices);
const keyed = trades.map((symbol, trade) => ({ key: trade.quantity, value: symbol }));
expectType<KStream<number, string>>(keyed);
const flat = trades.flatMapValues((trade) => [trade.price, trade.quantity]);
expectType<KStream<string, number>>(flat);
const rekeyed = trades.selectKey((_symbol, trade) => trade.price > 100);
expectType<KStream<boolean, Trade>>(rekeyed);

// @ts-expect-error the value is a Trade, not a string
trades.mapValues((trade: string) => trade.length);
// @ts-expect-error filter's predicate takes (key, value): the key is a string
trades.filter((symbol: number) => symbol > 0);
// @ts-expect-error a predicate returns a boolean
trades.filter((_symbol, trade) => trade.price);
// @ts-expect-error Trade has no field volume
trades.mapValues((trade) => trade.volume);
// @ts-expect-error map must return { key, value }
trades.map((symbol, trade) => [symbol, trade]);

// Grouping and aggregation.
const counts = trades.groupByKey().count();
expectType<KTable<string, number>>(counts);
const volumes = trades.groupByKey().aggregate(
  () => ({ volume: 0 }),
  (_symbol, trade, agg) => ({ volume: agg.volume + trade.quantity }),
  { valueSerde: Serdes.json<{ volume: number }>() },
);
expectType<KTable<string, { volume: number }>>(volumes);
trades.groupByKey().aggregate(
  () => 0,
  // @ts-expect-error the aggregator must return the aggregate's type (number)
  (_symbol, trade) => trade.symbol,
);
trades.groupByKey().aggregate(
  () => 0,
  (_s, t, n) => n + t.quantity,
  {
    // @ts-expect-error the materialized serde must serialize the aggregate's type
    valueSerde: Serdes.string(),
  },
);
// @ts-expect-error reduce combines values of the stream's own type
trades.groupByKey().reduce((a, b) => a.price + b.price);
const bySymbolLength = trades.groupBy((symbol) => symbol.length, { keySerde: Serdes.int32() });
expectType<KTable<number, number>>(bySymbolLength.count());
// @ts-expect-error Grouped's key serde must match the selected key (number)
trades.groupBy((symbol) => symbol.length, { keySerde: Serdes.string() });

// Windows carry the key type into Windowed<K>; suppress only on windowed tables.
const windowed = trades
  .groupByKey()
  .windowedBy(TimeWindows.ofSize(60_000).grace(5_000))
  .count()
  .suppress(untilWindowCloses);
expectType<KTable<Windowed<string>, number>>(windowed);
windowed.toStream().foreach((key) => expectType<number>(key.window.start));
// @ts-expect-error a non-windowed table cannot be suppressed until its windows close
counts.suppress(untilWindowCloses);
trades
  .groupByKey()
  .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(1_000))
  // @ts-expect-error a session aggregate needs a merger
  .aggregate(
    () => 0,
    (_s, t, n) => n + t.quantity,
  );

// KTable: groupBy's adder and subtractor see the selected value type.
const table = builder.table('users', {
  keySerde: Serdes.string(),
  valueSerde: Serdes.json<{ region: string; score: number }>(),
});
table
  .groupBy((_id, user) => ({ key: user.region, value: user.score }), {
    keySerde: Serdes.string(),
    valueSerde: Serdes.json<number>(),
  })
  .aggregate(
    () => 0,
    (_region, score, total) => total + score,
    // @ts-expect-error the subtractor's value is the selected value (number)
    (_region, score: string, total) => total - score.length,
  );

// split() returns its branches by name, typed.
const branches = trades
  .split()
  .branch((_s, t) => t.price > 100, 'expensive')
  .defaultBranch('rest');
expectType<KStream<string, Trade>>(branches.expensive);
expectType<KStream<string, Trade>>(branches.rest);
// @ts-expect-error there is no branch named cheap
expectType<KStream<string, Trade>>(branches.cheap);

// to(): serdes must fit the stream's types.
prices.to('prices', { valueSerde: Serdes.float64() });
// @ts-expect-error the value serde must serialize numbers
prices.to('prices', { valueSerde: Serdes.string() as Serde<string> });
// @ts-expect-error merge needs the same key and value types
trades.merge(prices);
