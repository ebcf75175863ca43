/**
 * `npm run bench:failover`: failover time of a task holding a large SQLite store (one task,
 * a 1-broker local cluster), without and with a standby replica (issue 16).
 *
 * For each store size (SIZES, default 200000,1000000) and each mode:
 * 1. the store's changelog is filled with that many keys; worker A (an empty state
 *    directory) restores them all and runs the task;
 * 2. worker B joins on its own, empty state directory — with `numStandbyReplicas: 1` it
 *    tails the changelog as the task's standby until its checkpoint reaches the changelog's
 *    end; with 0 it is idle;
 * 3. with input flowing (a record every 50 ms) A is SIGKILLed: the time from kill -9 to the
 *    first committed (read_committed) output of a record produced after the kill is the
 *    failover time. It includes the group's session timeout (6 s) and the rebalance.
 * Without a standby B restores the whole store; with one it replays only the tail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Serdes } from '../framework/index.ts';
import { createKafkaClient } from '../framework/client/index.ts';
import { changelogTopic, taskStateDir } from '../framework/names.ts';
import { Stores } from '../stores/index.ts';
import { KafkaCluster, produceRecords, waitFor } from '../testkit/index.ts';
import { startWorker, type Worker } from './apps/kv-worker.ts';

const SIZES = (process.env.SIZES ?? '200000,1000000').split(',').map(Number);
const store = Stores.keyValue('state', { keySerde: Serdes.string(), valueSerde: Serdes.string() });

interface Result {
  keys: number;
  standby: boolean;
  seconds: number;
  restored: number | undefined;
  load: string;
}

const cluster = await KafkaCluster.start({ brokers: 1 });
const dirs: string[] = [];
const workers: Worker[] = [];
const results: Result[] = [];
try {
  const brokers = cluster.bootstrapServers;
  const kafka = await createKafkaClient({ clientId: 'bench', brokers, logLevel: 'nothing' });
  const newDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'streamtx-failover-'));
    dirs.push(d);
    return d;
  };

  async function measure(keys: number, standby: boolean): Promise<Result> {
    const run = `${standby ? 's' : 'n'}${keys}-${Date.now().toString(36)}`;
    const appId = `failover-${run}`;
    const input = `failover-in-${run}`;
    const output = `failover-out-${run}`;
    const changelog = changelogTopic(appId, 'state');
    await cluster.createTopic(input, { partitions: 1 });
    await cluster.createTopic(output, { partitions: 1 });
    await cluster.createTopic(changelog, {
      partitions: 1,
      config: { 'cleanup.policy': 'compact' },
    });
    const value = 'v'.repeat(32);
    for (let i = 0; i < keys; i += 50_000)
      await produceRecords(
        brokers,
        changelog,
        Array.from({ length: Math.min(50_000, keys - i) }, (_, j) => ({
          key: `key-${i + j}`,
          value,
          partition: 0,
        })),
      );
    const env = {
      APP_ID: appId,
      INPUT: input,
      OUTPUT: output,
      BROKERS: brokers.join(','),
      STANDBYS: standby ? '1' : '0',
    };
    const restoredLine = (w: Worker): string | undefined =>
      w.lines.find((l) => l.startsWith('streamtx restored 0_0'));

    const a = startWorker({ ...env, STATE_DIR: newDir() });
    workers.push(a);
    await waitFor(() => restoredLine(a), { timeoutMs: 900_000, what: 'A restoring the store' });
    const bDir = newDir();
    const b = startWorker({ ...env, STATE_DIR: bDir });
    workers.push(b);
    await waitFor(() => b.lines.some((l) => l.startsWith('streamtx state RUNNING')), {
      timeoutMs: 120_000,
      what: 'B running',
    });
    if (standby) {
      const dir = taskStateDir(bDir, appId, '0_0');
      await waitFor(
        async () => {
          const end = (await kafka.admin.endOffsets(changelog, 'read_committed')).get(0) ?? 0n;
          // No checkpoint file yet means nothing replayed: position 0 (an empty changelog).
          return (store.readCheckpoint!(dir) ?? 0n) === end;
        },
        { timeoutMs: 900_000, intervalMs: 500, what: 'B’s standby at the changelog’s end' },
      );
    }

    let seq = 0;
    let flowing = true;
    const producer = kafka.producer();
    const flow = (async () => {
      while (flowing) {
        await producer.send(input, [{ key: `key-${seq % 1000}`, value: String(seq++) }]);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    // The highest input sequence number visible in the output (read_committed).
    let lastOut = -1;
    let position = 0n;
    const tailing = (async () => {
      while (flowing) {
        const end = (await kafka.admin.endOffsets(output, 'read_committed')).get(0) ?? 0n;
        if (end > position) {
          for await (const batch of kafka.readPartition(output, 0, position, end))
            for (const m of batch) lastOut = Math.max(lastOut, Number(m.value?.toString()));
          position = end;
        }
        await new Promise((r) => setTimeout(r, 20)); // polling the log end
      }
    })();
    try {
      await waitFor(() => lastOut >= 20, { timeoutMs: 120_000, what: 'output from A' });
      const sentAtKill = seq;
      const load = loadavg()
        .map((l) => l.toFixed(1))
        .join(' ');
      const killedAt = performance.now();
      const gone = new Promise((resolve) => a.child.once('exit', resolve));
      a.child.kill('SIGKILL');
      await gone;
      await waitFor(() => lastOut >= sentAtKill, {
        timeoutMs: 900_000,
        intervalMs: 20,
        what: 'output of the moved task',
      });
      const seconds = (performance.now() - killedAt) / 1000;
      const line = restoredLine(b);
      // "streamtx restored 0_0 state <done>/<total>"; absent would mean no restore was reported.
      const restored = line ? Number(line.split(' ')[4]!.split('/')[0]) : undefined;
      return { keys, standby, seconds, restored, load };
    } finally {
      flowing = false;
      await flow;
      await tailing;
      b.child.kill('SIGKILL');
    }
  }

  for (const keys of SIZES)
    for (const standby of [false, true]) {
      const r = await measure(keys, standby);
      console.error(
        `${keys} keys, ${standby ? 'standby' : 'no standby'}: ${r.seconds.toFixed(1)} s, ${r.restored ?? 'no restore line,'} records restored (load ${r.load})`,
      );
      results.push(r);
    }
  await kafka.close();

  console.log(
    `\nfailover (kill -9 of the active's worker → first committed output of the moved task); Node ${process.version}, ${cpus().length} cores, 1 broker on the same machine, session timeout 6 s`,
  );
  console.log(
    '| store keys | standby | failover | records restored by the new owner | load avg at kill |',
  );
  console.log('| ---: | --- | ---: | ---: | --- |');
  for (const r of results)
    console.log(
      `| ${r.keys} | ${r.standby ? 'yes' : 'no'} | ${r.seconds.toFixed(1)} s | ${r.restored ?? 'no restore line'} | ${r.load} |`,
    );
} finally {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await cluster.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
