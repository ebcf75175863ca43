// Standby replicas on a real cluster (issue 16): 3 workers, numStandbyReplicas 1, a store of
// 200 000 keys. SIGKILL the active's worker: the task resumes on the standby's worker,
// replaying at most the tail (from the restore events), the outputs are exact afterwards, and
// only the task's own transactional producer ever wrote the output or the changelog.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { changelogTopic, taskStateDir } from '../../../framework/names.ts';
import { Stores } from '../../../stores/index.ts';
import { Serdes } from '../../../framework/serdes.ts';
import { produceRecords, waitFor } from '../../../testkit/index.ts';
import { clusterFor, exitWhenDone } from '../../support/cluster.ts';
import { uniqueName } from '../../support/ids.ts';
import { backgroundLoad, readCommitted, testClient } from '../../support/kafka.ts';
import { producerIdsOf, transactionalProducerIds } from '../../support/producer-ids.ts';
import { workerPool, type Worker } from '../../support/workers.ts';

const KEYS = 200_000;
const BROKERS = Number(process.env.STANDBY_TEST_BROKERS ?? 3);
const app = fileURLToPath(new URL('../../support/apps/count-app.ts', import.meta.url));
const counts = Stores.keyValue('counts', { keySerde: Serdes.string(), valueSerde: Serdes.int32() });

/** The standby task ids of a worker, from its last `streamtx standbys` line. */
function standbysOf(w: Worker): string[] {
  for (let i = w.lines.length - 1; i >= 0; i--) {
    const m = /^streamtx standbys ([\w,]*)$/.exec(w.lines[i]!);
    if (m) return m[1] ? m[1].split(',') : [];
  }
  return [];
}

exitWhenDone(t); // see test/support/cluster.ts

t.test(
  'SIGKILL of the active’s worker: the task resumes on its standby’s worker replaying only the tail; output exact; standbys never write',
  async (t) => {
    const cluster = await clusterFor(t, { brokers: BROKERS });
    const brokers = cluster.bootstrapServers;
    const appId = uniqueName('standby');
    const input = `${appId}-in`;
    const output = `${appId}-out`;
    await cluster.createTopic(input, { partitions: 1 });
    await cluster.createTopic(output, { partitions: 1 });
    const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'streamtx-standby-it-')));
    t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
    const start = workerPool(t, app, {
      APP_ID: appId,
      INPUT: input,
      OUTPUT: output,
      BROKERS: brokers.join(','),
      STANDBYS: '1',
      REBALANCE_TIMEOUT_MS: '20000',
    });
    const workers = dirs.map((dir, i) =>
      start(`w${i}`, { STATE_DIR: dir, APP_SERVER: `127.0.0.1:${18080 + i}` }),
    );
    await Promise.all(workers.map((w) => w.waitForState('RUNNING')));
    const placed = await waitFor(
      () => {
        const active = workers.find((w) => w.tasks.includes('0_0'));
        const standby = workers.find((w) => standbysOf(w).includes('0_0'));
        return active && standby ? { active, standby } : false;
      },
      { timeoutMs: 60_000, what: 'the task active on one worker and its standby on another' },
    );
    const { active, standby } = placed;
    t.not(active, standby, 'the standby is on another worker than the active');
    const idle = workers.find((w) => w !== active && w !== standby)!;
    t.same(standbysOf(idle), [], 'one standby, not two');

    // A store of KEYS keys, built by the active task.
    await produceRecords(
      brokers,
      input,
      Array.from({ length: KEYS }, (_, i) => ({ key: `key-${i}`, value: String(i) })),
    );
    const kafka = await testClient(brokers);
    t.teardown(() => kafka.close());
    const changelog = changelogTopic(appId, 'counts');
    const standbyDir = taskStateDir(dirs[workers.indexOf(standby)]!, appId, '0_0');
    const caughtUp = async (): Promise<boolean> => {
      const end = (await kafka.admin.endOffsets(changelog, 'read_committed')).get(0) ?? 0n;
      return end >= BigInt(KEYS) && counts.readCheckpoint!(standbyDir) === end;
    };
    await waitFor(caughtUp, {
      timeoutMs: 600_000,
      intervalMs: 500,
      what: `the standby holding all ${KEYS} keys (its checkpoint at the changelog end)`,
    });

    // Input keeps flowing while the active's worker is killed.
    const load = backgroundLoad(brokers, input, 200, 1000);
    let loadStopped = false;
    t.teardown(() => (loadStopped ? undefined : load.stop()));
    const outputEnd = async (): Promise<bigint> =>
      (await kafka.admin.endOffsets(output, 'read_committed')).get(0) ?? 0n;
    await waitFor(async () => (await outputEnd()) > BigInt(KEYS + 200), {
      timeoutMs: 60_000,
      what: 'output of the ongoing load',
    });
    await active.kill();
    t.equal(active.signal, 'SIGKILL');
    const before = await outputEnd();

    await waitFor(() => standby.tasks.includes('0_0'), {
      timeoutMs: 120_000,
      what: 'the task running on the standby’s worker',
    });
    const restore = await waitFor(
      () =>
        standby.lines
          .map((l) => /^streamtx restored 0_0 counts (\d+)\/(\d+)( rebuilt)?$/.exec(l))
          .find((m) => m !== null) ?? false,
      { what: 'the restore event of the moved task' },
    );
    const restored = Number(restore[1]);
    t.notOk(restore[3], 'its state directory was trusted (no rebuild)');
    t.ok(
      restored <= KEYS / 100,
      `restored ${restored} changelog records (≪ the store's ${KEYS} keys): only the tail`,
    );
    // The worker reports its standbys every 200 ms, so its state line can come first.
    await waitFor(() => standbysOf(standby).length === 0, {
      timeoutMs: 10_000,
      what: 'the promoted worker keeping no standby of its own task',
    });
    t.pass('the promoted worker keeps no standby of its own task');
    t.notOk(idle.tasks.includes('0_0'), 'the worker without the state did not get the task');
    await waitFor(async () => (await outputEnd()) > before + 200n, {
      timeoutMs: 60_000,
      what: 'output from the moved task',
    });
    await waitFor(() => standbysOf(idle).includes('0_0'), {
      timeoutMs: 30_000,
      what: 'a new standby on the remaining worker',
    });
    loadStopped = true;
    await load.stop();

    // Exact: each key's counts are 1, 2, ..., n for its n input records, once each.
    const inputs = await readCommitted(brokers, input, 120_000);
    const outputs = await readCommitted(brokers, output, 120_000);
    const expected = new Map<string, number>();
    for (const r of inputs) expected.set(r.key, (expected.get(r.key) ?? 0) + 1);
    const seen = new Map<string, number>();
    const wrong: string[] = [];
    for (const r of outputs) {
      const n = (seen.get(r.key) ?? 0) + 1;
      seen.set(r.key, n);
      if (r.value !== String(n) && wrong.length < 5) wrong.push(`${r.key}: ${r.value}, not ${n}`);
    }
    const short = [...expected].filter(([k, n]) => seen.get(k) !== n).slice(0, 5);
    t.same(wrong, [], 'every count follows the previous one (no duplicate, no gap)');
    t.same(short, [], 'every key counted exactly as often as it was input');
    t.equal(outputs.length, inputs.length, `${outputs.length} outputs for ${inputs.length} inputs`);

    // Standbys never produce: every output and changelog batch was written by the task's producer.
    const owners = await transactionalProducerIds(kafka);
    const mine = [...owners.keys()].filter((id) => id.startsWith(`${appId}-`));
    t.same(mine, [`${appId}-0_0`], 'the app’s only transactional id is its task’s');
    const pid = owners.get(`${appId}-0_0`)!;
    for (const topic of [output, changelog]) {
      const writers = await producerIdsOf(kafka, topic);
      t.same(
        [...writers.keys()],
        [pid],
        `${topic}: all ${[...writers.values()].reduce((a, b) => a + b, 0)} records by producer ${pid}`,
      );
    }
  },
);
