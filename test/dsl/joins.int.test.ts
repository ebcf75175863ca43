// Joins on a real 3-broker cluster, with 3 workers: one SIGKILLed and restarted on its state
// directory, one paused (SIGSTOP) past the session timeout and resumed. Output is read with
// read_committed after every transaction finished and compared with an oracle recomputed
// from the inputs in timestamp order: (1) a KStream–KTable enrichment, each stream record
// meeting the table row as of its event time; (2) a KStream–KStream windowed join, every pair
// of records within the window. Exact, each result exactly once.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KafkaClient } from '../../framework/client/index.ts';
import { waitFor, type KafkaCluster } from '../../testkit/index.ts';
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

const app = fileURLToPath(new URL('../support/apps/join-app.ts', import.meta.url));
const PARTITIONS = 6;
const KEYS = 16;
const PER_PHASE = 1000;
const PHASES = 3;
const TICK_MS = 10;

interface Scenario {
  brokers: string[];
  /** The topics the app reads; the first is the one whose progress paces the faults. */
  inputs: string[];
  output: string;
  appId: string;
  worker: (name: string, env?: NodeJS.ProcessEnv) => Worker & { stateDir: string };
  workers: Worker[];
}

t.test('joins on a 3-broker cluster, exactly once through SIGKILL and a zombie', async (t) => {
  const cluster = await clusterFor(t, { brokers: 3 });
  const kafka = await testClient(cluster.bootstrapServers);
  t.teardown(() => kafka.close());
  // Event time an hour ago: brokers reject timestamps more than an hour ahead (Kafka 4 default).
  const base = Date.now() - 3_600_000;

  t.test(
    'stream–table: each record meets the table row as of its event time, exactly once',
    async (t) => {
      const s = await scenario(t, cluster, 'join-st', ['in', 'table'], {
        SCENARIO: 'stream-table',
        BASE_TIME: String(base),
        TICK_MS: String(TICK_MS),
      });
      const [input, table] = s.inputs as [string, string];
      // Before phase p's records, every key's row becomes `r${p}`, half a tick before the
      // phase's first record (no ties: the oracle's timestamp order is unambiguous).
      const rows = async (p: number) => {
        const producer = kafka.producer();
        await producer.send(
          table,
          Array.from({ length: KEYS }, (_, k) => ({
            key: `k${k}`,
            value: `${p * PER_PHASE - 0.5}:r${p}`,
          })),
        );
        await producer.close();
      };
      const total = await faults(t, kafka, s, async (p) => {
        await rows(p);
        await produceSequence(kafka, input, p * PER_PHASE, PER_PHASE, KEYS);
      });
      const records = await readCommitted(s.brokers, input);
      t.equal(records.length, total, `${total} stream records`);
      const tableRows = (await readCommitted(s.brokers, table)).map((r) => ({
        key: r.key,
        at: Number(r.value.split(':')[0]),
        row: r.value.split(':')[1]!,
      }));
      // The oracle: in timestamp order, a record meets the latest earlier row of its key.
      const expected = new Set<string>();
      for (const r of records) {
        const v = Number(r.value);
        const row = tableRows
          .filter((x) => x.key === r.key && x.at < v)
          .sort((a, b) => b.at - a.at)[0];
        if (row) expected.add(`${r.key}=${v}:${row.row}`);
      }
      t.equal(expected.size, total, 'every record has a row to meet (rows come first)');
      await compare(t, s, expected);
    },
  );

  t.test('stream–stream: every pair within the window, exactly once', async (t) => {
    const windowMs = 20 * TICK_MS; // |l − r| ≤ 20: a record meets up to 3 of its key (16 keys)
    const s = await scenario(t, cluster, 'join-ss', ['left', 'right'], {
      SCENARIO: 'stream-stream',
      BASE_TIME: String(base),
      TICK_MS: String(TICK_MS),
      WINDOW_MS: String(windowMs),
      // No record is late, whatever the order the faults make: the oracle is every pair.
      GRACE_MS: String(3_600_000),
    });
    const [left, right] = s.inputs as [string, string];
    await faults(t, kafka, s, async (p) => {
      await produceSequence(kafka, left, p * PER_PHASE, PER_PHASE, KEYS);
      await produceSequence(kafka, right, p * PER_PHASE, PER_PHASE, KEYS);
    });
    const l = await readCommitted(s.brokers, left);
    const r = await readCommitted(s.brokers, right);
    t.equal(l.length + r.length, 2 * PHASES * PER_PHASE, 'both inputs complete');
    const expected = new Set<string>();
    for (const a of l)
      for (const b of r)
        if (a.key === b.key && Math.abs(Number(a.value) - Number(b.value)) * TICK_MS <= windowMs)
          expected.add(`${a.key}=${a.value}:${b.value}`);
    await compare(t, s, expected);
  });
});

/** Output equals `expected` (`key=value` strings), each exactly once. */
async function compare(t: Test, s: Scenario, expected: Set<string>): Promise<void> {
  const output = await waitFor(
    async () => {
      const records = await readCommitted(s.brokers, s.output);
      return records.length >= expected.size ? records : false;
    },
    { timeoutMs: 120_000, intervalMs: 2_000, what: `${expected.size} join results` },
  );
  await Promise.all(s.workers.map((w) => w.stop()));
  // Anything late (a duplicate from a zombie) would be committed by now.
  const final = await readCommitted(s.brokers, s.output);
  t.ok(final.length >= output.length, 'nothing disappeared after the workers stopped');
  const seen = new Map<string, number>();
  for (const r of final)
    seen.set(`${r.key}=${r.value}`, (seen.get(`${r.key}=${r.value}`) ?? 0) + 1);
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([id, n]) => `${id}×${n}`);
  const missing = [...expected].filter((id) => !seen.has(id));
  const unexpected = [...seen.keys()].filter((id) => !expected.has(id));
  t.same(duplicated.slice(0, 10), [], `no result twice (${duplicated.length})`);
  t.same(missing.slice(0, 10), [], `no result missing (${missing.length})`);
  t.same(unexpected.slice(0, 10), [], `no result the oracle lacks (${unexpected.length})`);
  t.equal(final.length, expected.size, `${expected.size} results, as the oracle`);
}

/**
 * Three workers under load: one SIGKILLed then restarted on its state directory, one paused
 * past the session timeout (its tasks move; on SIGCONT it is fenced and rejoins). Phase p's
 * input is produced by `produce(p)`. Returns the number of records on the first input.
 */
async function faults(
  t: Test,
  kafka: KafkaClient,
  s: Scenario,
  produce: (phase: number) => Promise<void>,
): Promise<number> {
  const first = s.inputs[0]!;
  const committed = () => totalCommitted(kafka, s.appId, first).catch(() => 0);
  const committedAtLeast = (n: number, timeoutMs = 120_000) =>
    waitFor(async () => (await committed()) >= n, {
      timeoutMs,
      intervalMs: 250,
      what: `group ${s.appId} to commit ${n} offsets on ${first}`,
    });
  const [a, b, c] = ['a', 'b', 'c'].map((n) => s.worker(n)) as [
    Worker & { stateDir: string },
    Worker & { stateDir: string },
    Worker & { stateDir: string },
  ];
  await Promise.all([a, b, c].map((w) => w.waitForState('RUNNING')));
  await produce(0);
  await committedAtLeast(PER_PHASE / 3);
  await b.kill();
  t.comment('worker b SIGKILLed');
  await produce(1);
  const restarted = s.worker('b2', { STATE_DIR: b.stateDir });
  await restarted.waitForState('RUNNING');
  await committedAtLeast(PER_PHASE);
  await waitFor(() => c.tasks.length > 0, { timeoutMs: 90_000, what: 'worker c to own tasks' });
  c.signalWith('SIGSTOP');
  t.comment(`worker c paused with tasks ${c.tasks.join(',')}`);
  await waitFor(() => a.tasks.length + restarted.tasks.length === PARTITIONS, {
    timeoutMs: 90_000,
    what: `workers a and b2 to take all ${PARTITIONS} tasks`,
  });
  await produce(2);
  // Progress while c is paused; capped at the input's end, which a fast worker may already
  // be near once both topics of the phase are produced.
  const before = await committed();
  await committedAtLeast(Math.min(before + PER_PHASE / 2, PHASES * PER_PHASE));
  c.signalWith('SIGCONT');
  await waitFor(() => c.tasks.length > 0 && c.running, {
    timeoutMs: 90_000,
    what: 'worker c to rejoin',
  });
  for (const topic of s.inputs) {
    const end = await totalRecords(kafka, topic);
    await waitFor(async () => (await totalCommitted(kafka, s.appId, topic).catch(() => 0)) >= end, {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: `group ${s.appId} to commit ${topic} to its end`,
    });
  }
  return totalRecords(kafka, first);
}

async function scenario(
  t: Test,
  cluster: KafkaCluster,
  name: string,
  inputNames: string[],
  env: NodeJS.ProcessEnv,
): Promise<Scenario> {
  const inputs = inputNames.map((n) => uniqueName(`${name}-${n}`));
  const output = uniqueName(`${name}-out`);
  const appId = uniqueName(`${name}-app`);
  for (const topic of [...inputs, output])
    await cluster.createTopic(topic, { partitions: PARTITIONS, replicationFactor: 3 });
  const dirs: string[] = [];
  t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const [input, second] = inputs as [string, string];
  const pool = workerPool(t, app, {
    ...env,
    INPUT: input,
    ...(env.SCENARIO === 'stream-table' ? { TABLE: second } : { OTHER: second }),
    OUTPUT: output,
    APP_ID: appId,
    BROKERS: cluster.bootstrapServers.join(','),
  });
  const s: Scenario = {
    brokers: cluster.bootstrapServers,
    inputs,
    output,
    appId,
    workers: [],
    worker: (workerName, extra = {}) => {
      let stateDir = extra.STATE_DIR;
      if (!stateDir) {
        stateDir = mkdtempSync(join(tmpdir(), 'streamtx-join-state-'));
        dirs.push(stateDir);
      }
      const w = Object.assign(pool(workerName, { ...extra, STATE_DIR: stateDir }), { stateDir });
      s.workers.push(w);
      return w;
    },
  };
  return s;
}
