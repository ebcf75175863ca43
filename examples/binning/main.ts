/**
 * `npm run demo`: the binning example end to end. Starts a local Apache Kafka
 * broker (or uses STREAMTX_BOOTSTRAP), a trade generator and the binning app,
 * prints each minute's bin per symbol as it closes, then stops everything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamsApp } from '../../framework/index.ts';
import { KafkaCluster, produceRecords, waitForRecords } from '../../testkit/index.ts';
import { BIN_MS, buildBinningTopology, type Bin } from './app.ts';
import { generateTrades } from './generator.ts';

const MINUTES = Number(process.env.MINUTES ?? 6);
const SYMBOLS = ['ACME', 'GLOBX', 'INITECH', 'UMBRL'];
const log = (line: string): void => void process.stdout.write(line + '\n');

async function main(): Promise<void> {
  log('starting a local Apache Kafka broker (the first run fetches it from Maven Central)...');
  const cluster = await KafkaCluster.fromEnv({ brokers: 1 });
  const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-binning-'));
  const run = Date.now().toString(36);
  const trades = `trades-${run}`;
  const bins = `bins-${run}`;
  let app: StreamsApp | undefined;
  try {
    await cluster.createTopic(trades, { partitions: 2 });
    await cluster.createTopic(bins, { partitions: 2 });
    log(`Kafka ${cluster.version} at ${cluster.bootstrapServers.join(',')}`);

    app = new StreamsApp(buildBinningTopology({ tradesTopic: trades, binsTopic: bins }), {
      applicationId: `binning-${run}`,
      brokers: cluster.bootstrapServers,
      stateDir,
      replicationFactor: 1,
      logLevel: 'warn',
    });
    await app.start();
    log(`binning app started (exactly_once, bins in SQLite under ${stateDir})\n`);
    log('symbol   minute (UTC)   open      high      low       close     volume  trades  vwap');

    const expected = MINUTES * SYMBOLS.length;
    const seen = new Set<string>();
    const printer = waitForRecords(cluster.bootstrapServers, bins, expected, {
      timeoutMs: 180_000,
      onRecord: (r) => {
        const b = JSON.parse(r.value!.toString()) as Bin;
        seen.add(`${b.symbol}@${b.start}`);
        const minute = new Date(b.start).toISOString().slice(11, 16);
        const f = (x: number): string => x.toFixed(2).padStart(8);
        log(
          `${b.symbol.padEnd(8)} ${minute}          ${f(b.open)}  ${f(b.high)}  ${f(b.low)}  ${f(b.close)}  ${String(b.volume).padStart(6)}  ${String(b.trades).padStart(6)}  ${b.vwap.toFixed(4)}`,
        );
      },
    });

    // One simulated minute of trades a second, then a "closing bell" trade
    // per symbol two minutes later so the last minute closes too.
    // Recent event times: brokers apply retention (and may refuse far-past
    // timestamps) by record time.
    const startTime = Math.floor(Date.now() / BIN_MS) * BIN_MS - (MINUTES + 3) * BIN_MS;
    const all = generateTrades({ seed: 42, symbols: SYMBOLS, minutes: MINUTES, startTime });
    const start = all[0]!.timestamp;
    for (let m = 0; m < MINUTES; m++) {
      const minute = all.filter(
        (t) => t.timestamp >= start + m * BIN_MS && t.timestamp < start + (m + 1) * BIN_MS,
      );
      await produceRecords(cluster.bootstrapServers, trades, minute);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // pacing the generator like a market, not synchronising
    }
    const bell = start + (MINUTES + 2) * BIN_MS;
    await produceRecords(
      cluster.bootstrapServers,
      trades,
      SYMBOLS.map((symbol) => ({
        key: symbol,
        value: JSON.stringify({ time: bell, symbol, price: 1, quantity: 1 }),
        timestamp: bell,
      })),
    );
    await printer;
    log(
      `\n${seen.size} bins for ${SYMBOLS.length} symbols × ${MINUTES} minutes, each emitted once, read with read_committed`,
    );
    if (seen.size !== expected)
      throw new Error(`expected ${expected} distinct bins, saw ${seen.size}`);
  } finally {
    await app?.close();
    await cluster.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
