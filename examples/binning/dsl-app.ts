/**
 * The binning app written with the DSL: the same one-minute OHLC/VWAP bins as app.ts (the
 * Processor API version, kept beside it), in one chain —
 *
 *   trades → groupByKey → windowedBy(1-minute tumbling windows + grace) → aggregate
 *          → suppress(untilWindowCloses) → bins
 *
 * The window store, the stream-time close, the grace period, the late-record drop and the
 * changelogged buffer of not-yet-final bins are the DSL's; app.ts writes each by hand.
 *
 * Run a worker: `npx streamtx run examples/binning/dsl-app.ts` (BROKERS, TRADES, BINS,
 * APP_ID, STATE_DIR from the environment).
 */
import { Serdes, type StreamsAppOptions } from '../../framework/index.ts';
import { StreamsBuilder, TimeWindows, untilWindowCloses } from '../../dsl/index.ts';
import type { Topology } from '../../framework/index.ts';
import { BIN_MS, type Bin, type BinningOptions } from './app.ts';
import type { Trade } from './generator.ts';

type OpenBin = Omit<Bin, 'vwap' | 'averagePrice' | 'start' | 'end'> & {
  notional: number;
  priceSum: number;
};

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

export function buildBinningDslTopology(options: BinningOptions): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(options.tradesTopic, {
      keySerde: Serdes.string(),
      valueSerde: Serdes.json<Trade>(),
      timestampExtractor: (record) => record.value.time,
    })
    .groupByKey()
    .windowedBy(TimeWindows.ofSize(BIN_MS).grace(options.graceMs ?? 0))
    .aggregate<OpenBin | null>(
      () => null,
      (symbol, trade, bin) =>
        bin === null
          ? {
              symbol,
              open: trade.price,
              high: trade.price,
              low: trade.price,
              close: trade.price,
              volume: trade.quantity,
              trades: 1,
              notional: trade.price * trade.quantity,
              priceSum: trade.price,
            }
          : {
              ...bin,
              high: Math.max(bin.high, trade.price),
              low: Math.min(bin.low, trade.price),
              close: trade.price,
              volume: bin.volume + trade.quantity,
              trades: bin.trades + 1,
              notional: bin.notional + trade.price * trade.quantity,
              priceSum: bin.priceSum + trade.price,
            },
      {
        storeName: 'open-bins',
        storeKind: (options.persistent ?? true) ? 'sqlite' : 'memory',
        valueSerde: Serdes.json<OpenBin | null>(),
        retentionMs: 60 * BIN_MS,
      },
    )
    .suppress(untilWindowCloses)
    .toStream()
    .map((window, open) => {
      const { notional, priceSum, ...bin } = open as OpenBin;
      const value: Bin = {
        ...bin,
        start: window.window.start,
        end: window.window.end,
        vwap: round4(notional / bin.volume),
        averagePrice: round4(priceSum / bin.trades),
      };
      return { key: window.key, value };
    })
    .to(options.binsTopic, { keySerde: Serdes.string(), valueSerde: Serdes.json<Bin>() });
  return builder.build();
}

// `streamtx run examples/binning/dsl-app.ts`: the worker module form.
const env = process.env;
export const topology = buildBinningDslTopology({
  tradesTopic: env.TRADES ?? 'trades',
  binsTopic: env.BINS ?? 'bins',
});
export const options: StreamsAppOptions = {
  applicationId: env.APP_ID ?? 'binning-dsl',
  brokers: (env.BROKERS ?? env.STREAMTX_BOOTSTRAP ?? '127.0.0.1:9092').split(','),
  ...(env.STATE_DIR ? { stateDir: env.STATE_DIR } : {}),
};
