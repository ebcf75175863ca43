/**
 * Per-record cost of telemetry on the production task code, for a stateless
 * map topology:
 *
 *   npx tsx bench/telemetry-overhead.ts [-- --records 20000 --rounds 5]
 *
 * Modes: none (no telemetry: the no-op default); otel-no-sdk (openTelemetry()
 * with no SDK registered, as a library user who never set one up); sdk-off (an
 * SDK tracer provider and meter provider, sampler AlwaysOff); sdk-on (AlwaysOn,
 * every span through a BatchSpanProcessor to an exporter that drops them, W3C
 * propagation, metrics collected by a reader).
 *
 * Two drivers of the same StreamTask code: `task` processes batches of 1000
 * records per transaction on the in-memory Kafka (as the runtime does);
 * `driver` is the TopologyTestDriver (one commit per record). Rounds interleave
 * the modes; the median of the rounds is reported, in µs per record.
 */
import { parseArgs } from 'node:util';
import { core, metrics, tracing } from '@opentelemetry/sdk-node';
import type { ConsumedRecord } from '../framework/client/index.ts';
import {
  Serdes,
  Topology,
  noopTelemetry,
  setDefaultTelemetry,
  type Processor,
  type ProcessorContext,
  type Telemetry,
} from '../framework/index.ts';
import { openTelemetry } from '../otel.ts';
import { TaskHarness, TopologyTestDriver } from '../testkit/index.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
  },
});
const RECORDS = Number(args.records);
const ROUNDS = Number(args.rounds);
const BATCH = 1000;

const topology = (): Topology =>
  new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'upper',
      (): Processor<string, string, string, string> => {
        let ctx!: ProcessorContext<string, string>;
        return {
          init: (c) => void (ctx = c),
          process: (r) => ctx.forward({ ...r, value: r.value.toUpperCase() }),
        };
      },
      'src',
    )
    .addSink(
      'out',
      { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'upper',
    );

class DroppingExporter implements tracing.SpanExporter {
  export(_spans: tracing.ReadableSpan[], done: (result: { code: number }) => void): void {
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

const propagator = new core.W3CTraceContextPropagator();
function sdkTelemetry(sampler: tracing.Sampler): Telemetry {
  const tracerProvider = new tracing.BasicTracerProvider({
    sampler,
    spanProcessors: [
      new tracing.BatchSpanProcessor(new DroppingExporter(), { maxQueueSize: 100_000 }),
    ],
  });
  const meterProvider = new metrics.MeterProvider({
    readers: [
      new metrics.PeriodicExportingMetricReader({
        exporter: new metrics.InMemoryMetricExporter(metrics.AggregationTemporality.CUMULATIVE),
        exportIntervalMillis: 1000,
      }),
    ],
  });
  return openTelemetry({ tracerProvider, meterProvider, propagator });
}

const modes: Record<string, Telemetry> = {
  none: noopTelemetry,
  'otel-no-sdk': openTelemetry(),
  'sdk-off': sdkTelemetry(new tracing.AlwaysOffSampler()),
  'sdk-on': sdkTelemetry(new tracing.AlwaysOnSampler()),
};

// Every input record has a sampled producer context, as from an instrumented producer.
const traceparent = Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
const inputs: ConsumedRecord[] = Array.from({ length: RECORDS }, (_, i) => ({
  topic: 'in',
  partition: 0,
  offset: BigInt(i),
  key: Buffer.from(`key-${i % 100}`),
  value: Buffer.from(`value-${i}`),
  timestamp: i,
  headers: { traceparent },
}));

async function viaTask(telemetry: Telemetry): Promise<number> {
  const task = await TaskHarness.start(topology(), {
    applicationId: 'bench',
    maxBatchRecords: BATCH * 10,
    telemetry,
  });
  const started = performance.now();
  for (let i = 0; i < RECORDS; i += BATCH) {
    await task.process(inputs.slice(i, i + BATCH));
    await task.commit();
  }
  const us = ((performance.now() - started) * 1000) / RECORDS;
  await task.close();
  return us;
}

async function viaDriver(telemetry: Telemetry): Promise<number> {
  setDefaultTelemetry(telemetry);
  const driver = new TopologyTestDriver(topology(), { applicationId: 'bench' });
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  const n = Math.min(RECORDS, 5000);
  const headers = { traceparent };
  await input.pipeInput('warm', 'up', 0, headers);
  const started = performance.now();
  for (let i = 0; i < n; i++) await input.pipeInput(`key-${i % 100}`, `value-${i}`, i, headers);
  const us = ((performance.now() - started) * 1000) / n;
  await driver.close();
  setDefaultTelemetry(undefined);
  return us;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const [name, run] of [
  ['task (1000 records per transaction)', viaTask],
  ['driver (one commit per record)', viaDriver],
] as const) {
  const results: Record<string, number[]> = {};
  await run(noopTelemetry); // warm-up
  for (let round = 0; round < ROUNDS; round++)
    for (const [mode, telemetry] of Object.entries(modes))
      (results[mode] ??= []).push(await run(telemetry));
  const base = median(results['none']!);
  process.stdout.write(`\n${name}, ${RECORDS} records, median of ${ROUNDS} rounds:\n`);
  for (const [mode, xs] of Object.entries(results)) {
    const m = median(xs);
    process.stdout.write(
      `  ${mode.padEnd(12)} ${m.toFixed(2).padStart(7)} µs/record  (+${(m - base).toFixed(2)} µs vs none)\n`,
    );
  }
}
process.exit(0);
