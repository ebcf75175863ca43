/**
 * The binning app from the original talk: trades in, and for every symbol one
 * bin per minute out — open, high, low, close, volume, trade count and the
 * volume-weighted average price — emitted once, when the minute has closed
 * in event time. Open bins live in a window store (SQLite by default,
 * changelogged), so a crashed worker resumes its half-built minutes.
 *
 * Run a worker: `npx streamtx run examples/binning/app.ts` (BROKERS, TRADES,
 * BINS, APP_ID, STATE_DIR from the environment).
 */
import {
  Serdes,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record,
  type StreamsAppOptions,
} from '../../framework/index.ts';
import { Stores, type WindowStore } from '../../stores/index.ts';
import type { Trade } from './generator.ts';

export interface Bin {
  symbol: string;
  /** Window start and end (exclusive), ms. */
  start: number;
  end: number;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Shares traded. */
  volume: number;
  trades: number;
  /** Volume-weighted average price. */
  vwap: number;
  /** Plain average of the trade prices. */
  averagePrice: number;
}

interface OpenBin extends Omit<Bin, 'vwap' | 'averagePrice'> {
  /** Σ price × quantity and Σ price, for the averages. */
  notional: number;
  priceSum: number;
}

export const BIN_MS = 60_000;

export interface BinningOptions {
  tradesTopic: string;
  binsTopic: string;
  /** SQLite (true, default) or in-memory window store. */
  persistent?: boolean;
  /** How late (event time) a trade may arrive and still count in its minute. @default 0 */
  graceMs?: number;
}

class Binner implements Processor<string, Trade, string, Bin> {
  private context!: ProcessorContext<string, Bin>;
  private bins!: WindowStore<string, OpenBin>;

  constructor(private readonly graceMs: number) {}

  init(context: ProcessorContext<string, Bin>): void {
    this.context = context;
    this.bins = context.getStateStore<WindowStore<string, OpenBin>>('open-bins');
    // Close minutes as event time moves on, not on a wall clock: replaying
    // old trades yields the same bins.
    context.schedule(1_000, 'stream-time', (now) => this.closeBins(now));
  }

  async process(record: Record<string, Trade>): Promise<void> {
    const trade = record.value;
    const start = Math.floor(record.timestamp / BIN_MS) * BIN_MS;
    if (start <= this.closedThrough) return; // too late: its minute was already emitted (as Kafka Streams drops records after the grace period)
    const bin = this.bins.fetch(trade.symbol, start, start)[0]?.value;
    const next: OpenBin = bin
      ? {
          ...bin,
          high: Math.max(bin.high, trade.price),
          low: Math.min(bin.low, trade.price),
          close: trade.price,
          volume: bin.volume + trade.quantity,
          trades: bin.trades + 1,
          notional: bin.notional + trade.price * trade.quantity,
          priceSum: bin.priceSum + trade.price,
        }
      : {
          symbol: trade.symbol,
          start,
          end: start + BIN_MS,
          open: trade.price,
          high: trade.price,
          low: trade.price,
          close: trade.price,
          volume: trade.quantity,
          trades: 1,
          notional: trade.price * trade.quantity,
          priceSum: trade.price,
        };
    this.bins.put(trade.symbol, next, start);
  }

  /** Windows starting at or before this were emitted. In memory: a rebuilt task re-learns it at its first punctuation. */
  private closedThrough = -Infinity;

  /** Emits and forgets every bin whose minute (plus grace) is over at stream time `now`. */
  private async closeBins(now: number): Promise<void> {
    this.closedThrough = now - BIN_MS - this.graceMs;
    const closed = this.bins.fetchAll(0, this.closedThrough);
    for (const { key, windowStart, value } of closed) {
      const { notional, priceSum, ...bin } = value;
      await this.context.forward({
        key,
        value: {
          ...bin,
          vwap: Math.round((notional / bin.volume) * 10_000) / 10_000,
          averagePrice: Math.round((priceSum / bin.trades) * 10_000) / 10_000,
        },
        timestamp: bin.end - 1,
        headers: {},
      });
      this.bins.put(key, null, windowStart);
    }
  }
}

export function buildBinningTopology(options: BinningOptions): Topology {
  return new Topology()
    .addSource('trades', {
      topics: [options.tradesTopic],
      keySerde: Serdes.string(),
      valueSerde: Serdes.json<Trade>(),
      timestampExtractor: (record) => (record.value as Trade).time,
    })
    .addProcessor('bin', () => new Binner(options.graceMs ?? 0), 'trades')
    .addStateStore(
      Stores.window('open-bins', {
        keySerde: Serdes.string(),
        valueSerde: Serdes.json<OpenBin>(),
        windowSizeMs: BIN_MS,
        retentionMs: 60 * BIN_MS,
        persistent: options.persistent ?? true,
      }),
      'bin',
    )
    .addSink(
      'bins',
      { topic: options.binsTopic, keySerde: Serdes.string(), valueSerde: Serdes.json<Bin>() },
      'bin',
    );
}

// `streamtx run examples/binning/app.ts`: the worker module form.
const env = process.env;
export const topology = buildBinningTopology({
  tradesTopic: env.TRADES ?? 'trades',
  binsTopic: env.BINS ?? 'bins',
});
export const options: StreamsAppOptions = {
  applicationId: env.APP_ID ?? 'binning',
  brokers: (env.BROKERS ?? env.STREAMTX_BOOTSTRAP ?? '127.0.0.1:9092').split(','),
  ...(env.STATE_DIR ? { stateDir: env.STATE_DIR } : {}),
};
