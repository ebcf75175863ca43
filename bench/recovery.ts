/**
 * `npm run bench:recovery`: recovery of a worker holding a 1 M-key SQLite
 * store (one task), on a local 1-broker cluster.
 *
 * 1. The store's changelog is filled with KEYS records; a first worker on an
 *    empty state directory restores them all: restore records/s.
 * 2. With input flowing (a record every 50 ms), the worker is SIGKILLed and
 *    restarted on the same state directory: time from kill -9 to the first
 *    output of a record produced after the kill (streamtx: replay the tail).
 * 3. Same, but the restarted worker gets an empty state directory — what
 *    Kafka Streams does after an unclean shutdown under EOS (wipe, full
 *    restore).
 * The ratio of 3 to 2 is the point; both include the group's session
 * timeout (6 s) and the rebalance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaClient } from '../framework/client/index.ts';
import { KafkaCluster, produceRecords, waitFor } from '../testkit/index.ts';
import { startWorker, type Worker } from './apps/kv-worker.ts';

const KEYS = Number(process.env.KEYS ?? 1_000_000);

async function kill(w: Worker): Promise<void> {
  const gone = new Promise((resolve) => w.child.once('exit', resolve));
  w.child.kill('SIGKILL');
  await gone;
}

const cluster = await KafkaCluster.start({ brokers: 1 });
const dirs: string[] = [];
const workers: Worker[] = [];
try {
  const brokers = cluster.bootstrapServers;
  const run = Date.now().toString(36);
  const appId = `recovery-${run}`;
  const input = `recovery-in-${run}`;
  const output = `recovery-out-${run}`;
  const changelog = `${appId}-state-changelog`;
  await cluster.createTopic(input, { partitions: 1 });
  await cluster.createTopic(output, { partitions: 1 });
  await cluster.createTopic(changelog, { partitions: 1, config: { 'cleanup.policy': 'compact' } });

  let t = performance.now();
  const value = 'v'.repeat(32);
  for (let i = 0; i < KEYS; i += 50_000) {
    await produceRecords(
      brokers,
      changelog,
      Array.from({ length: Math.min(50_000, KEYS - i) }, (_, j) => ({
        key: `key-${i + j}`,
        value,
        partition: 0,
      })),
    );
  }
  console.error(
    `filled the changelog with ${KEYS} records in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  const newDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'streamtx-recovery-'));
    dirs.push(d);
    return d;
  };
  const env = { APP_ID: appId, INPUT: input, OUTPUT: output, BROKERS: brokers.join(',') };
  const restoredLine = (w: Worker): string | undefined =>
    w.lines.find((l) => l.startsWith('streamtx restored'));

  // 1. full restore on an empty state directory
  const dir = newDir();
  t = performance.now();
  const first = startWorker({ ...env, STATE_DIR: dir });
  workers.push(first);
  const line1 = await waitFor(() => restoredLine(first), {
    timeoutMs: 600_000,
    what: 'the first restore',
  });
  const fullRestoreS = (performance.now() - t) / 1000;
  const restored1 = Number(line1.split(' ')[4]!.split('/')[0]);

  // input flows from now on
  let seq = 0;
  const kafka = await createKafkaClient({ clientId: 'bench', brokers, logLevel: 'nothing' });
  const producer = kafka.producer();
  let flowing = true;
  const flow = (async () => {
    while (flowing) {
      await producer.send(input, [{ key: `key-${seq % 1000}`, value: String(seq++) }]);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  // Tails the output with read_committed: the highest value visible so far.
  let lastOut = -1;
  const positions = new Map<number, bigint>();
  const tailing = (async () => {
    const partitions = (await kafka.admin.partitionCounts([output])).get(output) ?? 0;
    while (flowing) {
      for (let p = 0; p < partitions; p++) {
        const from = positions.get(p) ?? 0n;
        const end = (await kafka.admin.endOffsets(output)).get(p) ?? 0n;
        if (end <= from) continue;
        for await (const batch of kafka.readPartition(output, p, from, end))
          for (const m of batch) lastOut = Math.max(lastOut, Number(m.value?.toString()));
        positions.set(p, end);
      }
      await new Promise((r) => setTimeout(r, 20)); // polling the log end
    }
  })();
  await waitFor(() => lastOut >= 20, { timeoutMs: 120_000, what: 'output from the first worker' });

  async function killAndRestart(stateDir: string): Promise<{ seconds: number; restored: number }> {
    const victim = workers.at(-1)!;
    const sentAtKill = seq;
    const killedAt = performance.now();
    await kill(victim);
    const next = startWorker({ ...env, STATE_DIR: stateDir });
    workers.push(next);
    await waitFor(() => lastOut >= sentAtKill, {
      timeoutMs: 600_000,
      intervalMs: 20,
      what: 'processing after the restart',
    });
    const seconds = (performance.now() - killedAt) / 1000;
    const line = restoredLine(next);
    return { seconds, restored: line ? Number(line.split(' ')[4]!.split('/')[0]) : 0 };
  }

  const tail = await killAndRestart(dir); // same directory: replay the tail
  const rebuild = await killAndRestart(newDir()); // empty directory: full restore, as after a wipe
  flowing = false;
  await flow;
  await tailing;
  await kafka.close();

  console.log(
    `\nrecovery of a worker holding a ${KEYS}-key SQLite store; Node ${process.version}, ${cpus().length} cores, 1 broker on the same machine`,
  );
  console.log('| measurement | value |');
  console.log('| --- | --- |');
  console.log(`| full restore (empty state dir): records | ${restored1} |`);
  console.log(
    `| full restore: worker start → restored | ${fullRestoreS.toFixed(1)} s (${Math.round(restored1 / fullRestoreS)} records/s incl. start-up) |`,
  );
  console.log(
    `| kill -9 → processing again, same state dir (tail replay: ${tail.restored} records) | ${tail.seconds.toFixed(1)} s |`,
  );
  console.log(
    `| kill -9 → processing again, empty state dir (full rebuild: ${rebuild.restored} records) | ${rebuild.seconds.toFixed(1)} s |`,
  );
  console.log(
    `| ratio full rebuild / tail replay | ${(rebuild.seconds / tail.seconds).toFixed(1)}× |`,
  );
} finally {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await cluster.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
