/**
 * What forward() costs per record: a chain of three processors (map → filter
 * → map) to a sink, on the production task code (TaskHarness, the in-memory
 * Kafka: no broker, so this is the framework's own per-record path), written
 * three ways:
 *
 *   sync       process(r) { ctx.forward(...) }             (every node synchronous: the fast path)
 *   no-await   process(r) { void ctx.forward(...) }        (async children? none: same as sync)
 *   async      async process(r) { await ctx.forward(...) } (a promise per node per record)
 *
 *   npm run bench:forward -- [--records 200000] [--rounds 5]
 *
 * Rounds interleave the variants; medians (and the spread) in µs per record.
 */
import { parseArgs } from 'node:util';
import type { ConsumedRecord } from '../framework/client/index.ts';
import {
  Serdes,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record as StreamRecord,
} from '../framework/index.ts';
import { TaskHarness } from '../testkit/index.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
  },
});
const RECORDS = Number(args.records);
const ROUNDS = Number(args.rounds);
const BATCH = 1000;

type Variant = 'sync' | 'no-await' | 'async';

function node(
  variant: Variant,
  step: (r: StreamRecord<string, string>) => StreamRecord<string, string> | undefined,
): () => Processor<string, string, string, string> {
  return () => {
    let ctx!: ProcessorContext<string, string>;
    const init = (c: ProcessorContext<string, string>): void => void (ctx = c);
    if (variant === 'async')
      return {
        init,
        async process(r) {
          const out = step(r);
          if (out) await ctx.forward(out);
        },
      };
    if (variant === 'no-await')
      return {
        init,
        process(r) {
          const out = step(r);
          if (out) void ctx.forward(out);
        },
      };
    return {
      init,
      process(r) {
        const out = step(r);
        if (out) return ctx.forward(out);
      },
    };
  };
}

function topology(variant: Variant): Topology {
  return new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'upper',
      node(variant, (r) => ({ ...r, value: r.value.toUpperCase() })),
      'src',
    )
    .addProcessor(
      'keep',
      node(variant, (r) => (r.value.length > 0 ? r : undefined)),
      'upper',
    )
    .addProcessor(
      'tag',
      node(variant, (r) => ({ ...r, value: `${r.value}!` })),
      'keep',
    )
    .addSink(
      'out',
      { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'tag',
    );
}

const inputs: ConsumedRecord[] = Array.from({ length: RECORDS }, (_, i) => ({
  topic: 'in',
  partition: 0,
  offset: BigInt(i),
  key: Buffer.from(`key-${i % 100}`),
  value: Buffer.from(`value-${i}`),
  timestamp: i,
  headers: {},
}));

async function run(variant: Variant): Promise<number> {
  const task = await TaskHarness.start(topology(variant), {
    applicationId: 'bench',
    maxBatchRecords: BATCH * 10,
  });
  const started = performance.now();
  for (let i = 0; i < RECORDS; i += BATCH) {
    await task.process(inputs.slice(i, i + BATCH));
    await task.commit();
  }
  const us = ((performance.now() - started) * 1000) / RECORDS;
  const out = task.committedValues('out').length;
  await task.close();
  if (out !== RECORDS) throw new Error(`${variant}: ${out} outputs for ${RECORDS} inputs`);
  return us;
}

const variants: Variant[] = ['sync', 'no-await', 'async'];
const results: Record<Variant, number[]> = { sync: [], 'no-await': [], async: [] };
for (const v of variants) await run(v); // warm-up
for (let round = 0; round < ROUNDS; round++)
  for (const v of variants) results[v].push(await run(v));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(
  `\nforward() per record, 3 processors + sink, ${RECORDS} records, ${ROUNDS} rounds; ` +
    `Node ${process.version}\n| variant | µs/record (median) | min–max |\n| --- | --- | --- |\n`,
);
for (const v of variants) {
  const xs = results[v];
  process.stdout.write(
    `| ${v} | ${median(xs).toFixed(2)} | ${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)} |\n`,
  );
}
