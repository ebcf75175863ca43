// Logged SQLite stores on a real cluster: aggregates stay exact through
// SIGKILLs, a crash between the Kafka commit and the SQLite commit only
// replays the tail, an empty state directory restores everything, and an
// aborted transaction leaves nothing in the store.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { changelogTopic } from '../../../framework/names.ts';
import { waitFor, type KafkaCluster } from '../../../testkit/index.ts';
import type { Aggregate } from '../../../chaos/apps/aggregate-app.ts';
import { runningAggregates } from '../../../chaos/verifier.ts';
import { clusterFor } from '../../support/cluster.ts';
import { uniqueName } from '../../support/ids.ts';
import {
  backgroundLoad,
  produceSequence,
  readCommitted,
  testClient,
  totalCommitted,
  totalRecords,
} from '../../support/kafka.ts';
import { workerPool, type Worker } from '../../support/workers.ts';

const app = fileURLToPath(new URL('../../../chaos/apps/aggregate-app.ts', import.meta.url));
const PARTITIONS = 4;

t.test('logged stores on a real cluster', async (t) => {
  const cluster = await clusterFor(t, { brokers: 3 });
  const kafka = await testClient(cluster.bootstrapServers);
  t.teardown(() => kafka.close());

  t.test(
    'three workers, one SIGKILLed repeatedly: every aggregate equals the one recomputed from the input, and so does the final store',
    async (t) => {
      const s = await scenario(t, cluster, 'kill-agg');
      const workers = ['a', 'b', 'c'].map((n) => s.worker(n));
      await Promise.all(workers.map((w) => w.waitForState('RUNNING')));
      const load = backgroundLoad(cluster.bootstrapServers, s.input, 300, 12);
      t.teardown(() => load.stop().then(() => undefined));
      let victim = workers[0]!;
      for (let round = 0; round < 3; round++) {
        await waitForConsumedAtLeast(s, 300 * (round + 1));
        await victim.kill();
        victim = s.worker(`${victim.name}${round}`, { STATE_DIR: victim.stateDir });
        await victim.waitForState('RUNNING');
      }
      const { attempted } = await load.stop();
      t.comment(`${attempted} records produced, a worker SIGKILLed 3 times`);
      await waitForConsumed(s);
      await verify(t, s);
    },
  );

  t.test(
    'a crash between the Kafka commit and the SQLite commit replays only the tail, without a rebuild',
    async (t) => {
      const s = await scenario(t, cluster, 'crash-agg', 1);
      await produceSequence(kafka, s.input, 0, 600, 12);
      // Commit a few times normally, then die right after the 8th Kafka commit, before SQLite's.
      const crashing = s.worker('crashing', {
        STREAMTX_FAULT_INJECTION: 'after-kafka-commit-before-store-commit:8',
        COMMIT_INTERVAL_MS: '50',
        MAX_BATCH: '25',
      });
      await crashing.exited;
      t.equal(crashing.signal, 'SIGKILL', 'the worker killed itself at the fault point');
      const inChangelog = (await readCommitted(s.brokers, changelogTopic(s.appId, 'aggregates')))
        .length;
      await produceSequence(kafka, s.input, 600, 100, 12);
      const restarted = s.worker('restarted', { STATE_DIR: crashing.stateDir });
      await waitForConsumed(s);
      const line = await waitFor(
        () => restarted.lines.find((l) => l.startsWith('streamtx restored 0_0 aggregates')),
        {
          what: 'the restore report',
        },
      );
      const restored = Number(line.split(' ')[4]!.split('/')[0]);
      t.notMatch(line, /rebuilt/, 'the store was not rebuilt');
      t.ok(restored > 0, `the tail was replayed (${restored} records)`);
      t.ok(
        restored <= 25,
        `only the last transaction's ${restored} changes, of ${inChangelog} in the changelog`,
      );
      await restarted.stop();
      await verify(t, s);
    },
  );

  t.test(
    'a task that moves to a worker with an empty state directory restores fully from the changelog',
    async (t) => {
      const s = await scenario(t, cluster, 'move-agg', 2);
      await produceSequence(kafka, s.input, 0, 400, 12);
      const first = s.worker('first');
      await waitForConsumed(s);
      await first.stop();
      const perPartition = new Map<number, number>();
      for (const r of await readCommitted(s.brokers, changelogTopic(s.appId, 'aggregates'))) {
        perPartition.set(r.partition, (perPartition.get(r.partition) ?? 0) + 1);
      }
      const fresh = s.worker('fresh'); // a new, empty state directory
      await fresh.waitForState('RUNNING');
      const lines = await waitFor(
        () => {
          const found = fresh.lines.filter((l) => l.startsWith('streamtx restored'));
          return found.length === 2 ? found : false;
        },
        { what: 'both tasks restored' },
      );
      for (const line of lines) {
        const partition = Number(line.split(' ')[2]!.split('_')[1]);
        const restored = Number(line.split(' ')[4]!.split('/')[0]);
        t.equal(
          restored,
          perPartition.get(partition),
          `${line}: the whole changelog partition was replayed`,
        );
        t.match(line, /rebuilt$/, 'reported as a full restore with its reason');
      }
      await produceSequence(kafka, s.input, 400, 100, 12);
      await waitForConsumed(s);
      await fresh.stop();
      await verify(t, s);
    },
  );

  t.test(
    'a transaction aborted after store writes leaves none of them: aggregates stay exact after a restart',
    async (t) => {
      const s = await scenario(t, cluster, 'abort-agg', 2);
      await produceSequence(kafka, s.input, 0, 300, 12);
      const failing = s.worker('failing', { FAIL_ON: '150' });
      await failing.exited;
      t.equal(failing.exitCode, 1, 'the worker stopped on the processor error');
      const healthy = s.worker('healthy', { STATE_DIR: failing.stateDir });
      await waitForConsumed(s);
      await healthy.stop();
      await verify(t, s);
    },
  );
});

interface Scenario {
  brokers: string[];
  input: string;
  echo: string;
  aggregates: string;
  appId: string;
  worker: (name: string, env?: NodeJS.ProcessEnv) => Worker & { stateDir: string };
}

async function scenario(
  t: Test,
  cluster: KafkaCluster,
  name: string,
  partitions = PARTITIONS,
): Promise<Scenario> {
  const [input, echo, aggregates] = ['in', 'echo', 'agg'].map((x) =>
    uniqueName(`${name}-${x}`),
  ) as [string, string, string];
  const appId = uniqueName(`${name}-app`);
  for (const topic of [input, echo, aggregates])
    await cluster.createTopic(topic, { partitions, replicationFactor: 3 });
  const dirs: string[] = [];
  t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const pool = workerPool(t, app, {
    INPUT: input,
    ECHO: echo,
    AGGREGATES: aggregates,
    APP_ID: appId,
    BROKERS: cluster.bootstrapServers.join(','),
  });
  return {
    brokers: cluster.bootstrapServers,
    input,
    echo,
    aggregates,
    appId,
    worker: (workerName, env = {}) => {
      let stateDir = env.STATE_DIR;
      if (!stateDir) {
        stateDir = mkdtempSync(join(tmpdir(), 'streamtx-state-'));
        dirs.push(stateDir);
      }
      return Object.assign(pool(workerName, { ...env, STATE_DIR: stateDir }), { stateDir });
    },
  };
}

async function committedSum(s: Scenario): Promise<number> {
  const kafka = await testClient(s.brokers);
  try {
    return await totalCommitted(kafka, s.appId, s.input);
  } finally {
    await kafka.close();
  }
}

async function waitForConsumedAtLeast(s: Scenario, n: number): Promise<void> {
  await waitFor(async () => (await committedSum(s).catch(() => 0)) >= n, {
    timeoutMs: 120_000,
    intervalMs: 250,
    what: `${n} input records committed`,
  });
}

async function waitForConsumed(s: Scenario): Promise<void> {
  const kafka = await testClient(s.brokers);
  const total = await totalRecords(kafka, s.input).finally(() => kafka.close());
  await waitForConsumedAtLeast(s, total);
}

/**
 * Echo is the input exactly once; each key's aggregate stream equals the
 * running aggregate recomputed from its input, record by record; the store's
 * final contents (the changelog's last value per key) equal the expected.
 */
async function verify(t: Test, s: Scenario): Promise<void> {
  const input = await readCommitted(s.brokers, s.input);
  const echo = await readCommitted(s.brokers, s.echo);
  const aggregates = await readCommitted(s.brokers, s.aggregates);
  const changelog = await readCommitted(s.brokers, changelogTopic(s.appId, 'aggregates'));

  const sorted = (xs: string[]): string[] => [...xs].sort();
  t.same(
    sorted(echo.map((r) => `${r.key}=${r.value}`)),
    sorted(input.map((r) => `${r.key}=${r.value}`)),
    `echo holds the ${input.length} inputs exactly once`,
  );

  const expected = runningAggregates(input);
  const emitted = new Map<string, Aggregate[]>();
  for (const r of aggregates)
    emitted.set(r.key, [...(emitted.get(r.key) ?? []), JSON.parse(r.value) as Aggregate]);
  let wrong = 0;
  for (const [key, want] of expected) {
    const got = emitted.get(key) ?? [];
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      wrong++;
      if (wrong <= 3) t.same(got.slice(0, 50), want.slice(0, 50), `aggregates of ${key}`);
    }
  }
  t.equal(
    wrong,
    0,
    `every emitted aggregate of the ${expected.size} keys equals the one recomputed from the input`,
  );

  const finalStore = new Map<string, string>();
  for (const r of changelog) finalStore.set(r.key, r.value);
  const want = new Map([...expected].map(([k, list]) => [k, JSON.stringify(list.at(-1))]));
  t.same(
    Object.fromEntries(finalStore),
    Object.fromEntries(want),
    'the final store contents (from the changelog) equal the expected',
  );
}
