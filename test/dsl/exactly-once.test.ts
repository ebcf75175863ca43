// The DSL on a real 3-broker cluster, with 3 workers: one SIGKILLed and restarted on its
// state directory, one paused (SIGSTOP) past the session timeout and resumed. Output is read
// with read_committed after every transaction finished and compared with the result
// recomputed from the input: (1) a groupBy that changes the key, through a repartition
// topic, then count(): each group's counts are exactly 1, 2, …, n; (2) a hopping-window
// aggregate with suppress(untilWindowCloses): each window's final result exactly once, exact.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KafkaClient } from '../../framework/client/index.ts';
import { TimeWindows } from '../../dsl/index.ts';
import { waitFor, type KafkaCluster } from '../../testkit/index.ts';
import type { WindowResult } from '../support/apps/dsl-app.ts';
import { clusterFor } from '../support/cluster.ts';
import { uniqueName } from '../support/ids.ts';
import {
  produceSequence,
  readCommitted,
  testClient,
  totalCommitted,
  totalRecords,
} from '../support/kafka.ts';
import { workerPool, type Worker } from '../support/workers.ts';

const app = fileURLToPath(new URL('../support/apps/dsl-app.ts', import.meta.url));
const PARTITIONS = 6;
const KEYS = 16;
const GROUPS = 5; // as dsl-app.ts
const PER_PHASE = 1000;

interface Scenario {
  brokers: string[];
  input: string;
  output: string;
  appId: string;
  worker: (name: string, env?: NodeJS.ProcessEnv) => Worker & { stateDir: string };
}

t.test('the DSL on a 3-broker cluster, exactly once through SIGKILL and a zombie', async (t) => {
  const cluster = await clusterFor(t, { brokers: 3 });
  const kafka = await testClient(cluster.bootstrapServers);
  t.teardown(() => kafka.close());

  t.test(
    'groupBy with a key change (repartition topic) then count: each group counts 1..n exactly once',
    async (t) => {
      const s = await scenario(t, cluster, 'dsl-count', { SCENARIO: 'groupby-count' });
      const total = await faults(t, kafka, s, 2 * PARTITIONS);
      const input = (await readCommitted(s.brokers, s.input)).map((r) => Number(r.value));
      t.equal(input.length, total, `${total} input records`);
      const expected = new Map<string, number>();
      for (const v of input)
        expected.set(`g${v % GROUPS}`, (expected.get(`g${v % GROUPS}`) ?? 0) + 1);
      const output = await waitFor(
        async () => {
          const records = await readCommitted(s.brokers, s.output);
          const last = new Map(records.map((r) => [r.key, Number(r.value)]));
          return [...expected].every(([g, n]) => last.get(g) === n) ? records : false;
        },
        { timeoutMs: 120_000, intervalMs: 2_000, what: 'the final count of every group' },
      );
      await stopAll(s);
      for (const [group, n] of [...expected].sort()) {
        const counts = output.filter((r) => r.key === group).map((r) => Number(r.value));
        const wanted = Array.from({ length: n }, (_, i) => i + 1);
        t.same(
          counts.length === wanted.length && counts.every((c, i) => c === wanted[i])
            ? []
            : firstDifference(counts, wanted),
          [],
          `${group}: counts are exactly 1..${n}, each once, in order`,
        );
      }
      t.equal(output.length, total, 'one count update per input record, no more');
    },
  );

  t.test(
    'hopping windows with suppress(untilWindowCloses): each final window result exactly once, exact',
    async (t) => {
      const windowMs = 1_000;
      const advanceMs = 500;
      const graceMs = 200;
      const tick = 10;
      // Event time near now: brokers reject timestamps more than an hour ahead (Kafka 4 default).
      const base = Math.floor((Date.now() - 3_600_000) / windowMs) * windowMs;
      const s = await scenario(t, cluster, 'dsl-hop', {
        SCENARIO: 'hopping-suppress',
        BASE_TIME: String(base),
        TICK_MS: String(tick),
        WINDOW_MS: String(windowMs),
        ADVANCE_MS: String(advanceMs),
        GRACE_MS: String(graceMs),
      });
      // A "closing bell" per key far past the last window closes every window in every task.
      const bell = 3 * PER_PHASE + 10_000;
      const total = await faults(t, kafka, s, PARTITIONS, async () => {
        const producer = kafka.producer();
        await producer.send(
          s.input,
          Array.from({ length: KEYS }, (_, k) => ({ key: `k${k}`, value: String(bell + k) })),
        );
        await producer.close();
      });
      const input = await readCommitted(s.brokers, s.input);
      t.equal(input.length, total, `${total} input records, ${KEYS} of them bells`);
      const windows = TimeWindows.ofSize(windowMs).advanceBy(advanceMs).grace(graceMs);
      const expected = new Map<string, { count: number; sum: number }>();
      const bellWindows = new Set<string>();
      for (const r of input) {
        const v = Number(r.value);
        for (const start of windows.windowStartsFor(base + v * tick)) {
          const id = `${r.key}@${start}`;
          if (v >= bell) bellWindows.add(id);
          const agg = expected.get(id) ?? { count: 0, sum: 0 };
          expected.set(id, { count: agg.count + 1, sum: agg.sum + v });
        }
      }
      for (const id of bellWindows) expected.delete(id); // never closed: nothing after the bells
      const output = await waitFor(
        async () => {
          const records = await readCommitted(s.brokers, s.output);
          return records.length >= expected.size ? records : false;
        },
        { timeoutMs: 120_000, intervalMs: 2_000, what: `${expected.size} final window results` },
      );
      await stopAll(s);
      const seen = new Map<string, WindowResult[]>();
      for (const r of output) {
        const result = JSON.parse(r.value) as WindowResult;
        const id = `${result.key}@${result.start}`;
        seen.set(id, [...(seen.get(id) ?? []), result]);
      }
      const duplicated = [...seen]
        .filter(([, list]) => list.length > 1)
        .map(([id, list]) => `${id}×${list.length}`);
      const missing = [...expected.keys()].filter((id) => !seen.has(id));
      const unexpected = [...seen.keys()].filter((id) => !expected.has(id));
      const wrong = [...expected]
        .filter(([id, want]) => {
          const got = seen.get(id)?.[0];
          return (
            got !== undefined &&
            (got.count !== want.count || got.sum !== want.sum || got.end !== got.start + windowMs)
          );
        })
        .map(([id]) => id);
      t.same(duplicated.slice(0, 10), [], `no window is emitted twice (${duplicated.length})`);
      t.same(missing.slice(0, 10), [], `no closed window is missing (${missing.length})`);
      t.same(
        unexpected.slice(0, 10),
        [],
        'no window that never closed, or never existed, is emitted',
      );
      t.same(
        wrong.slice(0, 10),
        [],
        `every result equals the one recomputed from the input (${expected.size} windows)`,
      );
    },
  );
});

function firstDifference(got: number[], want: number[]): string[] {
  const i = want.findIndex((w, j) => got[j] !== w);
  return [
    `at ${i === -1 ? want.length : i}: got ${got.slice(Math.max(0, i - 2), i + 3).join(',')} (${got.length} values), want ${want.length} values`,
  ];
}

/**
 * Three workers under load: one SIGKILLed then restarted on its state directory, one
 * paused past the session timeout (its tasks move; on SIGCONT it is fenced and rejoins).
 * Returns the number of records produced.
 */
async function faults(
  t: Test,
  kafka: KafkaClient,
  s: Scenario,
  tasks: number,
  beforeDrain?: () => Promise<void>,
): Promise<number> {
  const [a, b, c] = ['a', 'b', 'c'].map((n) => s.worker(n)) as [
    Worker & { stateDir: string },
    Worker & { stateDir: string },
    Worker & { stateDir: string },
  ];
  await Promise.all([a, b, c].map((w) => w.waitForState('RUNNING')));
  await produceSequence(kafka, s.input, 0, PER_PHASE, KEYS);
  await waitForCommittedAtLeast(kafka, s, PER_PHASE / 3);
  await b.kill();
  t.comment('worker b SIGKILLed');
  await produceSequence(kafka, s.input, PER_PHASE, PER_PHASE, KEYS);
  const restarted = s.worker('b2', { STATE_DIR: b.stateDir });
  await restarted.waitForState('RUNNING');
  await waitForCommittedAtLeast(kafka, s, PER_PHASE);
  await waitFor(() => c.tasks.length > 0, { timeoutMs: 90_000, what: 'worker c to own tasks' });
  c.signalWith('SIGSTOP');
  t.comment(`worker c paused with tasks ${c.tasks.join(',')}`);
  await waitFor(() => a.tasks.length + restarted.tasks.length === tasks, {
    timeoutMs: 90_000,
    what: `workers a and b2 to take all ${tasks} tasks`,
  });
  await produceSequence(kafka, s.input, 2 * PER_PHASE, PER_PHASE, KEYS);
  const before = await totalCommitted(kafka, s.appId, s.input);
  await waitForCommittedAtLeast(kafka, s, before + PER_PHASE / 2);
  c.signalWith('SIGCONT');
  await waitFor(() => c.tasks.length > 0 && c.running, {
    timeoutMs: 90_000,
    what: 'worker c to rejoin',
  });
  t.ok(
    (c.stderr.join('').match(/assigned tasks/g) ?? []).length >= 2,
    'the paused worker was assigned tasks again after it resumed',
  );
  await beforeDrain?.();
  await waitForCommittedAtLeast(kafka, s, await totalRecords(kafka, s.input), 120_000);
  return totalRecords(kafka, s.input);
}

let workersOf = new WeakMap<Scenario, Worker[]>();
async function stopAll(s: Scenario): Promise<void> {
  await Promise.all((workersOf.get(s) ?? []).map((w) => w.stop()));
  workersOf = new WeakMap();
}

async function scenario(
  t: Test,
  cluster: KafkaCluster,
  name: string,
  env: NodeJS.ProcessEnv,
): Promise<Scenario> {
  const input = uniqueName(`${name}-in`);
  const output = uniqueName(`${name}-out`);
  const appId = uniqueName(`${name}-app`);
  for (const topic of [input, output])
    await cluster.createTopic(topic, { partitions: PARTITIONS, replicationFactor: 3 });
  const dirs: string[] = [];
  t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const pool = workerPool(t, app, {
    ...env,
    INPUT: input,
    OUTPUT: output,
    APP_ID: appId,
    BROKERS: cluster.bootstrapServers.join(','),
  });
  const s: Scenario = {
    brokers: cluster.bootstrapServers,
    input,
    output,
    appId,
    worker: (workerName, extra = {}) => {
      let stateDir = extra.STATE_DIR;
      if (!stateDir) {
        stateDir = mkdtempSync(join(tmpdir(), 'streamtx-dsl-state-'));
        dirs.push(stateDir);
      }
      const w = Object.assign(pool(workerName, { ...extra, STATE_DIR: stateDir }), { stateDir });
      workersOf.set(s, [...(workersOf.get(s) ?? []), w]);
      return w;
    },
  };
  return s;
}

async function waitForCommittedAtLeast(
  kafka: KafkaClient,
  s: Scenario,
  n: number,
  timeoutMs = 120_000,
): Promise<void> {
  await waitFor(async () => (await totalCommitted(kafka, s.appId, s.input).catch(() => 0)) >= n, {
    timeoutMs,
    intervalMs: 250,
    what: `group ${s.appId} to commit ${n} offsets on ${s.input}`,
  });
}
