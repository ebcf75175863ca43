/**
 * Trades from a random-walk price generator, deterministic for a seed: each
 * symbol trades every simulated second, so a minute of trade time is 60
 * trades per symbol. Timestamps are event time (the trade's own time).
 */
export interface Trade {
  time: number;
  symbol: string;
  price: number;
  quantity: number;
}

export interface GenerateOptions {
  seed?: number;
  symbols?: string[];
  minutes?: number;
  /** Event time of the first trade (ms); a whole minute keeps bins aligned. @default 2026-01-02T09:30:00Z */
  startTime?: number;
  /** Simulated seconds between a symbol's trades. @default 1 */
  stepSeconds?: number;
}

/** A small, fast, seedable PRNG (mulberry32), so runs and tests are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateTrades(
  options: GenerateOptions = {},
): { key: string; value: string; timestamp: number }[] {
  const random = prng(options.seed ?? 1);
  const symbols = options.symbols ?? ['ACME', 'GLOBX', 'INITECH', 'UMBRL'];
  const minutes = options.minutes ?? 5;
  const start = options.startTime ?? Date.UTC(2026, 0, 2, 9, 30);
  const step = (options.stepSeconds ?? 1) * 1000;
  const prices = new Map(symbols.map((s, i) => [s, 100 + 25 * i]));
  const trades: { key: string; value: string; timestamp: number }[] = [];
  for (let time = start; time < start + minutes * 60_000; time += step) {
    for (const symbol of symbols) {
      const last = prices.get(symbol)!;
      const price = Math.max(0.01, Math.round(last * (1 + (random() - 0.5) * 0.004) * 100) / 100);
      prices.set(symbol, price);
      const trade: Trade = { time, symbol, price, quantity: 1 + Math.floor(random() * 100) };
      trades.push({ key: symbol, value: JSON.stringify(trade), timestamp: time });
    }
  }
  return trades;
}
