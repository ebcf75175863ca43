/**
 * `npm run bench:dsl`: the DSL's overhead and windowed-count throughput. One worker (in this
 * process), one broker, 6 input partitions, exactly_once, commit interval 100 ms, SQLite
 * stores; the same cluster and pre-loaded input shape for every run:
 *
 *   papi      a per-key count written with the Processor API (key-value store get/put, forward)
 *   dsl       stream.groupByKey().count().toStream().to(...) — the same count with the DSL
 *   windowed  stream.groupByKey().windowedBy(TimeWindows.ofSize(60 s)).count().toStream().to(...)
 *
 * ROUNDS rounds (default 3) alternate the order (papi, dsl, windowed / windowed, dsl, papi);
 * each run times from app.start() until the group committed every input offset. Prints the
 * median records/s per variant and the DSL's overhead against papi, with the load average.
 *
 * First, the same three topologies on the TaskHarness (the production task on the in-memory
 * Kafka, 1000 records per transaction): µs of CPU per record without a broker, a steadier
 * view of the DSL's own cost on a shared machine.
 */
import { cpus, loadavg } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Serdes,
  StreamsApp,
  Topology,
  type Processor,
  type ProcessorContext,
} from '../framework/index.ts';
import { StreamsBuilder, TimeWindows } from '../dsl/index.ts';
import { Stores, type KeyValueStore } from '../stores/index.ts';
import { KafkaCluster, produceRecords, TaskHarness, waitFor } from '../testkit/index.ts';
import { createKafkaClient, type KafkaClient } from '../framework/client/index.ts';

const RECORDS = Number(process.env.RECORDS ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const KEYS = 1000;
const PARTITIONS = 6;
type Variant = 'papi' | 'dsl' | 'windowed';

function papiCount(input: string, output: string): Topology {
  return new Topology()
    .addSource('in', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'count',
      (): Processor<string, string, string, number> => {
        let ctx!: ProcessorContext<string, number>;
        let counts!: KeyValueStore<string, number>;
        return {
          init(c) {
            ctx = c;
            counts = c.getStateStore('counts');
          },
          process(r) {
            const n = (counts.get(r.key) ?? 0) + 1;
            counts.put(r.key, n);
            void ctx.forward({ ...r, value: n });
          },
        };
      },
      'in',
    )
    .addStateStore(
      Stores.keyValue('counts', { keySerde: Serdes.string(), valueSerde: Serdes.long() }),
      'count',
    )
    .addSink(
      'out',
      { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.long() },
      'count',
    );
}

function dslCount(input: string, output: string, windowed: boolean): Topology {
  const builder = new StreamsBuilder();
  const grouped = builder
    .stream(input, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .groupByKey();
  if (windowed) grouped.windowedBy(TimeWindows.ofSize(60_000)).count().toStream().to(output);
  else grouped.count().toStream().to(output);
  return builder.build();
}

async function committed(kafka: KafkaClient, groupId: string, topic: string): Promise<number> {
  let sum = 0n;
  for (const o of (await kafka.admin.committedOffsets(groupId, topic)).values()) sum += o;
  return Number(sum);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

const topologyOf = (variant: Variant, input: string, output: string): Topology =>
  variant === 'papi' ? papiCount(input, output) : dslCount(input, output, variant === 'windowed');
const variants: Variant[] = ['papi', 'dsl', 'windowed'];

// --- the task alone (no broker) ---
const HARNESS_RECORDS = 60_000;
const inputs = Array.from({ length: HARNESS_RECORDS }, (_, i) => ({
  topic: 'in',
  partition: 0,
  offset: BigInt(i),
  key: Buffer.from(`k${i % KEYS}`),
  value: Buffer.from(`${i}`),
  timestamp: i,
  headers: {},
}));
const perRecord = new Map<Variant, number[]>(variants.map((v) => [v, []]));
for (let round = 0; round < 5; round++) {
  for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
    const task = await TaskHarness.start(topologyOf(variant, 'in', 'out'), {
      applicationId: 'bench',
      maxBatchRecords: 10_000,
    });
    const started = performance.now();
    for (let i = 0; i < HARNESS_RECORDS; i += 1000) {
      await task.process(inputs.slice(i, i + 1000));
      await task.commit();
    }
    perRecord.get(variant)!.push(((performance.now() - started) * 1000) / HARNESS_RECORDS);
    await task.close();
  }
}
console.log(
  `task harness (no broker), ${HARNESS_RECORDS} records, 1000 per transaction, SQLite; median of 5 alternating rounds, load ${loadavg()[0]!.toFixed(1)}`,
);
console.log('| variant | µs/record (median) | runs |');
console.log('| --- | --- | --- |');
for (const [variant, runs] of perRecord) {
  console.log(
    `| ${variant} | ${median(runs).toFixed(2)} | ${runs.map((r) => r.toFixed(1)).join(', ')} |`,
  );
}

// --- one worker on a broker ---
const cluster = await KafkaCluster.start({ brokers: 1 });
const kafka = await createKafkaClient({
  clientId: 'bench',
  brokers: cluster.bootstrapServers,
  logLevel: 'nothing',
});
const results = new Map<Variant, number[]>([
  ['papi', []],
  ['dsl', []],
  ['windowed', []],
]);
const loads: number[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order: Variant[] =
      round % 2 === 0 ? ['papi', 'dsl', 'windowed'] : ['windowed', 'dsl', 'papi'];
    for (const variant of order) {
      const tag = `${variant}-${round}-${Date.now().toString(36)}`;
      const input = `bench-in-${tag}`;
      const output = `bench-out-${tag}`;
      await cluster.createTopic(input, { partitions: PARTITIONS });
      await cluster.createTopic(output, { partitions: PARTITIONS });
      const now = Date.now();
      await produceRecords(
        cluster.bootstrapServers,
        input,
        Array.from({ length: RECORDS }, (_, i) => ({
          key: `k${i % KEYS}`,
          value: `${i}`,
          timestamp: now + i,
        })),
      );
      const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-bench-dsl-'));
      const applicationId = `bench-${tag}`;
      const topology =
        variant === 'papi'
          ? papiCount(input, output)
          : dslCount(input, output, variant === 'windowed');
      const app = new StreamsApp(topology, {
        applicationId,
        brokers: cluster.bootstrapServers,
        stateDir,
        replicationFactor: 1,
        commitIntervalMs: 100,
        logLevel: 'error',
      });
      const started = performance.now();
      await app.start();
      await waitFor(async () => (await committed(kafka, applicationId, input)) >= RECORDS, {
        timeoutMs: 600_000,
        intervalMs: 100,
        what: `${RECORDS} records processed (${tag})`,
      });
      const perSecond = RECORDS / ((performance.now() - started) / 1000);
      await app.close();
      rmSync(stateDir, { recursive: true, force: true });
      results.get(variant)!.push(perSecond);
      loads.push(loadavg()[0]!);
      console.error(
        `round ${round} ${variant}: ${Math.round(perSecond)} records/s (load ${loadavg()[0]!.toFixed(1)})`,
      );
    }
  }
} finally {
  await kafka.close();
  await cluster.stop();
}

const papi = median(results.get('papi')!);
const dsl = median(results.get('dsl')!);
const windowed = median(results.get('windowed')!);
console.log(
  `\nper-key count, ${RECORDS} records, ${KEYS} keys, ${PARTITIONS} partitions, 1 broker, 1 worker, exactly_once, commit 100 ms, SQLite; ` +
    `Node ${process.version}, ${cpus().length} cores, load average during runs ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; median of ${ROUNDS} alternating rounds`,
);
console.log('| variant | records/s (median) | runs |');
console.log('| --- | --- | --- |');
for (const [variant, runs] of results) {
  console.log(
    `| ${variant} | ${Math.round(median(runs))} | ${runs.map((r) => Math.round(r)).join(', ')} |`,
  );
}
console.log(
  `\nDSL overhead vs Processor API: ${(((papi - dsl) / papi) * 100).toFixed(1)} % (goal ≤ 10 %); windowed count: ${Math.round(windowed)} records/s`,
);
