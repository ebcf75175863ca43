// The binning example twice — Processor API (app.ts) and DSL (dsl-app.ts) — on the
// TopologyTestDriver with the same trades, out of order within the grace period and late
// past it: both emit the same bins, once each.
import t, { type Test } from 'tap';
import { Serdes } from '../../framework/index.ts';
import { TopologyTestDriver } from '../../testkit/index.ts';
import { BIN_MS, buildBinningTopology, type Bin } from '../../examples/binning/app.ts';
import { buildBinningDslTopology } from '../../examples/binning/dsl-app.ts';
import { generateTrades, prng, type Trade } from '../../examples/binning/generator.ts';

const GRACE_MS = 5_000;

/** Generated trades, some moved back in event time (within the grace, and a few past it). */
function trades(): { key: string; value: string; timestamp: number }[] {
  const random = prng(7);
  const all = generateTrades({ seed: 3, minutes: 6 });
  return all.map((record, i) => {
    const trade = JSON.parse(record.value) as Trade;
    const shift = i % 17 === 0 ? 3_000 : i % 101 === 0 ? 30_000 : 0; // 30 s back: past the grace near a minute's start
    const time = Math.max(0, trade.time - Math.floor(shift * (0.5 + random() / 2)));
    return { ...record, value: JSON.stringify({ ...trade, time }), timestamp: time };
  });
}

async function run(t: Test, dsl: boolean): Promise<{ key: string | null; value: Bin | null }[]> {
  const options = {
    tradesTopic: 'trades',
    binsTopic: 'bins',
    graceMs: GRACE_MS,
    persistent: false,
  };
  const topology = dsl ? buildBinningDslTopology(options) : buildBinningTopology(options);
  const driver = new TopologyTestDriver(topology);
  t.teardown(() => driver.close());
  const input = driver.createInputTopic('trades', Serdes.string(), Serdes.string());
  const all = trades();
  for (const r of all) await input.pipeInput(r.key, r.value, r.timestamp);
  // A closing trade per symbol 2 minutes after the last closes every bin.
  const last = Math.max(...all.map((r) => r.timestamp));
  for (const symbol of ['ACME', 'GLOBX', 'INITECH', 'UMBRL']) {
    const time = last + 2 * BIN_MS;
    await input.pipeInput(symbol, JSON.stringify({ time, symbol, price: 1, quantity: 1 }), time);
  }
  return driver
    .createOutputTopic('bins', Serdes.string(), Serdes.json<Bin>())
    .readKeyValuesToList();
}

t.test('the Processor API and the DSL binning apps emit the same bins', async (t) => {
  const papi = await run(t, false);
  const dsl = await run(t, true);
  t.ok(papi.length >= 6 * 4, `${papi.length} bins from the Processor API app`);
  t.same(dsl, papi, 'the same bins, in the same order');
  const ids = dsl.map(({ value }) => `${value?.symbol}@${value?.start}`);
  t.equal(new Set(ids).size, ids.length, 'each bin once');
});
