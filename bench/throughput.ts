/**
 * `npm run bench:throughput`: a stateless map topology, one worker (in this
 * process), 6 input partitions, on 1 and on 3 brokers: records/s under
 * exactly_once and at_least_once with commitIntervalMs 100 and 1000, commit
 * latency p50/p99, and the worker's memory.
 *
 * Each run pre-loads RECORDS input records, then starts the app and times
 * until the group has committed every input offset (so the time includes
 * start-up and the first rebalance; RECORDS is large enough to dwarf it).
 */
import { cpus } from 'node:os';
import {
  Serdes,
  StreamsApp,
  Topology,
  type Processor,
  type ProcessorContext,
} from '../framework/index.ts';
import { KafkaCluster, produceRecords, waitFor } from '../testkit/index.ts';
import { createKafkaClient, type KafkaClient } from '../framework/client/index.ts';

const RECORDS = Number(process.env.RECORDS ?? 60_000);
const PARTITIONS = 6;
const BROKERS = (process.env.BROKERS ?? '1,3').split(',').map(Number);

function mapTopology(input: string, output: string): Topology {
  return new Topology()
    .addSource('in', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'map',
      (): Processor<string, string, string, string> => {
        let ctx!: ProcessorContext<string, string>;
        return {
          init: (c) => void (ctx = c),
          process: (r) => ctx.forward({ ...r, value: r.value.toUpperCase() }),
        };
      },
      'in',
    )
    .addSink(
      'out',
      { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'map',
    );
}

async function committed(kafka: KafkaClient, groupId: string, topic: string): Promise<number> {
  let sum = 0n;
  for (const o of (await kafka.admin.committedOffsets(groupId, topic)).values()) sum += o;
  return Number(sum);
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

const rows: string[] = [];
for (const brokers of BROKERS) {
  const cluster = await KafkaCluster.start({ brokers });
  const kafka = await createKafkaClient({
    clientId: 'bench',
    brokers: cluster.bootstrapServers,
    logLevel: 'nothing',
  });
  try {
    for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
      for (const commitIntervalMs of [100, 1000]) {
        const tag = `${guarantee}-${commitIntervalMs}-${Date.now().toString(36)}`;
        const input = `bench-in-${tag}`;
        const output = `bench-out-${tag}`;
        await cluster.createTopic(input, { partitions: PARTITIONS });
        await cluster.createTopic(output, { partitions: PARTITIONS });
        const value = 'x'.repeat(100);
        await produceRecords(
          cluster.bootstrapServers,
          input,
          Array.from({ length: RECORDS }, (_, i) => ({
            key: `k${i % 1000}`,
            value: `${i}-${value}`,
          })),
        );
        const applicationId = `bench-${tag}`;
        const app = new StreamsApp(mapTopology(input, output), {
          applicationId,
          brokers: cluster.bootstrapServers,
          processingGuarantee: guarantee,
          commitIntervalMs,
          logLevel: 'error',
        });
        const latencies: number[] = [];
        app.onCommit((e) => void latencies.push(e.durationMs));
        let rssPeak = 0;
        const sampler = setInterval(
          () => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)),
          100,
        );
        const started = performance.now();
        await app.start();
        await waitFor(async () => (await committed(kafka, applicationId, input)) >= RECORDS, {
          timeoutMs: 600_000,
          intervalMs: 200,
          what: `${RECORDS} records processed (${tag})`,
        });
        const seconds = (performance.now() - started) / 1000;
        clearInterval(sampler);
        await app.close();
        rows.push(
          `| ${brokers} | ${guarantee} | ${commitIntervalMs} | ${Math.round(RECORDS / seconds)} | ${pct(latencies, 50).toFixed(1)} | ${pct(latencies, 99).toFixed(1)} | ${latencies.length} | ${Math.round(rssPeak / 2 ** 20)} |`,
        );
        console.error(rows.at(-1));
      }
    }
  } finally {
    await cluster.stop();
  }
}

console.log(
  `\nstateless map, 1 worker, ${PARTITIONS} partitions, ${RECORDS} records of ~105 bytes; Node ${process.version}, ${cpus().length} cores; brokers and worker share the machine`,
);
console.log(
  '| brokers | guarantee | commit interval (ms) | records/s | commit p50 (ms) | commit p99 (ms) | commits | worker RSS peak (MiB) |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
