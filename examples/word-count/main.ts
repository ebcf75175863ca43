/**
 * `npm run example:word-count`: word count end to end. Starts a local Apache Kafka broker
 * (or uses STREAMTX_BOOTSTRAP), the word-count app, and a producer of a few lines; prints
 * the topology, then each count as it is committed, and the final counts; then stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamsApp } from '../../framework/index.ts';
import { KafkaCluster, produceRecords, waitForRecords } from '../../testkit/index.ts';
import { buildWordCountTopology } from './app.ts';

const LINES = [
  'all streams flow to the sea',
  'the sea is not full',
  'to the place the streams come from',
  'there they return again',
];
const log = (line: string): void => void process.stdout.write(line + '\n');

async function main(): Promise<void> {
  log('starting a local Apache Kafka broker (the first run fetches it from Maven Central)...');
  const cluster = await KafkaCluster.fromEnv({ brokers: 1 });
  const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-word-count-'));
  const run = Date.now().toString(36);
  const lines = `text-lines-${run}`;
  const counts = `word-counts-${run}`;
  let app: StreamsApp | undefined;
  try {
    await cluster.createTopic(lines, { partitions: 2 });
    await cluster.createTopic(counts, { partitions: 2 });
    const topology = buildWordCountTopology({ linesTopic: lines, countsTopic: counts });
    log(`Kafka ${cluster.version} at ${cluster.bootstrapServers.join(',')}\n`);
    log(topology.describe().toString());
    app = new StreamsApp(topology, {
      applicationId: `word-count-${run}`,
      brokers: cluster.bootstrapServers,
      stateDir,
      replicationFactor: 1,
      logLevel: 'warn',
    });
    await app.start();
    const words = LINES.flatMap((l) => l.split(' '));
    const final = new Map<string, number>();
    const printer = waitForRecords(cluster.bootstrapServers, counts, words.length, {
      timeoutMs: 120_000,
      onRecord: (r) => {
        const word = r.key!.toString();
        const count = Number(r.value!.readBigInt64BE(0));
        final.set(word, count);
        log(`${word.padEnd(10)} ${count}`);
      },
    });
    await produceRecords(
      cluster.bootstrapServers,
      lines,
      LINES.map((line, i) => ({ key: `line-${i}`, value: line })),
    );
    await printer;
    log(`\n${words.length} words, ${final.size} distinct; read with read_committed:`);
    log(
      [...final]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .map(([w, n]) => `${w}=${n}`)
        .join(' '),
    );
  } finally {
    await app?.close();
    await cluster.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `word count failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
