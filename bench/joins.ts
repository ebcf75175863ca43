/**
 * `npm run bench:joins`: join throughput. One worker (in this process), one broker, 6
 * partitions per topic, exactly_once, commit interval 100 ms, SQLite stores:
 *
 *   stream-table   stream.join(table, joiner).to(...): KEYS table rows loaded first, then
 *                  RECORDS stream records (each meets its key's row)
 *   stream-stream  left.join(right, joiner, JoinWindows.ofTimeDifference(500 ms)).to(...):
 *                  RECORDS/2 records on each side, 1 ms apart, KEYS keys (one partner each)
 *
 * Each run times from app.start() until the group committed every input offset; records/s
 * counts input records (both sides, and the table rows). ROUNDS rounds (default 3) alternate
 * the order. Prints the median per variant with the load average.
 */
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Serdes, StreamsApp, type Topology } from '../framework/index.ts';
import { JoinWindows, StreamsBuilder } from '../dsl/index.ts';
import { KafkaCluster, produceRecords, waitFor } from '../testkit/index.ts';
import { createKafkaClient, type KafkaClient } from '../framework/client/index.ts';

const RECORDS = Number(process.env.RECORDS ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const KEYS = 1000;
const PARTITIONS = 6;
type Variant = 'stream-table' | 'stream-stream';
const S = Serdes.string();

function topologyOf(variant: Variant, inputs: [string, string], output: string): Topology {
  const builder = new StreamsBuilder();
  const stream = builder.stream(inputs[0], { keySerde: S, valueSerde: S });
  if (variant === 'stream-table') {
    const table = builder.table(inputs[1], { keySerde: S, valueSerde: S });
    stream.join(table, (v, row) => `${v}:${row}`).to(output, { valueSerde: S });
  } else {
    const other = builder.stream(inputs[1], { keySerde: S, valueSerde: S });
    stream
      .join(other, (l, r) => `${l}:${r}`, JoinWindows.ofTimeDifference(500))
      .to(output, { valueSerde: S });
  }
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

const cluster = await KafkaCluster.start({ brokers: 1 });
const kafka = await createKafkaClient({
  clientId: 'bench',
  brokers: cluster.bootstrapServers,
  logLevel: 'nothing',
});
const results = new Map<Variant, number[]>([
  ['stream-table', []],
  ['stream-stream', []],
]);
const loads: number[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order: Variant[] =
      round % 2 === 0 ? ['stream-table', 'stream-stream'] : ['stream-stream', 'stream-table'];
    for (const variant of order) {
      const tag = `${variant}-${round}-${Date.now().toString(36)}`;
      const inputs: [string, string] = [`bench-a-${tag}`, `bench-b-${tag}`];
      const output = `bench-out-${tag}`;
      for (const topic of [...inputs, output])
        await cluster.createTopic(topic, { partitions: PARTITIONS });
      const now = Date.now() - 3_600_000;
      const sides: [number, number] =
        variant === 'stream-table' ? [RECORDS, KEYS] : [RECORDS / 2, RECORDS / 2];
      // Table rows (or right records) first and earlier in event time.
      await produceRecords(
        cluster.bootstrapServers,
        inputs[1],
        Array.from({ length: sides[1] }, (_, i) => ({
          key: `k${i % KEYS}`,
          value: `r${i}`,
          timestamp: variant === 'stream-table' ? now - 1 : now + i,
        })),
      );
      await produceRecords(
        cluster.bootstrapServers,
        inputs[0],
        Array.from({ length: sides[0] }, (_, i) => ({
          key: `k${i % KEYS}`,
          value: `${i}`,
          timestamp: now + i,
        })),
      );
      const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-bench-joins-'));
      const applicationId = `bench-${tag}`;
      const app = new StreamsApp(topologyOf(variant, inputs, output), {
        applicationId,
        brokers: cluster.bootstrapServers,
        stateDir,
        replicationFactor: 1,
        commitIntervalMs: 100,
        logLevel: 'error',
      });
      const started = performance.now();
      await app.start();
      await waitFor(
        async () =>
          (await committed(kafka, applicationId, inputs[0])) >= sides[0] &&
          (await committed(kafka, applicationId, inputs[1])) >= sides[1],
        { timeoutMs: 600_000, intervalMs: 100, what: `every input processed (${tag})` },
      );
      const perSecond = (sides[0] + sides[1]) / ((performance.now() - started) / 1000);
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

console.log(
  `\njoins, ${RECORDS} stream records, ${KEYS} keys, ${PARTITIONS} partitions, 1 broker, 1 worker, exactly_once, commit 100 ms, SQLite; ` +
    `Node ${process.version}, ${cpus().length} cores, load average during runs ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; median of ${ROUNDS} alternating rounds`,
);
console.log('| variant | input records/s (median) | runs |');
console.log('| --- | --- | --- |');
for (const [variant, runs] of results) {
  console.log(
    `| ${variant} | ${Math.round(median(runs))} | ${runs.map((r) => Math.round(r)).join(', ')} |`,
  );
}
