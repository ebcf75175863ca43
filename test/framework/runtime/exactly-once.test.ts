// The exactly-once runtime on a real 3-broker cluster. Output is always read
// with read_committed and compared record by record with the input.
import t from 'tap';
import type { Test } from 'tap';
import { fileURLToPath } from 'node:url';
import type { KafkaClient } from '../../../framework/client/index.ts';
import { waitFor, type KafkaCluster } from '../../../testkit/index.ts';
import { clusterFor } from '../../support/cluster.ts';
import { uniqueName } from '../../support/ids.ts';
import {
  backgroundLoad,
  exactlyOnceReport,
  produceSequence,
  readCommitted,
  testClient,
  totalCommitted,
  totalRecords,
} from '../../support/kafka.ts';
import { workerPool, type Worker } from '../../support/workers.ts';

const echoApp = fileURLToPath(new URL('../../support/apps/echo-app.ts', import.meta.url));
const PARTITIONS = 6;

t.test('exactly-once runtime on a 3-broker cluster', async (t) => {
  const cluster = await clusterFor(t, { brokers: 3 });
  const kafka = await testClient(cluster.bootstrapServers);
  t.teardown(() => kafka.close());

  t.test(
    'a processor that throws mid-batch commits nothing of that transaction; after a restart output equals input exactly once',
    async (t) => {
      const s = await scenario(t, cluster, 'throws');
      const total = 3000;
      await produceSequence(kafka, s.input, 0, total);
      const failing = s.worker('failing', { FAIL_ON: '1500' });
      await waitFor(() => !failing.running, {
        timeoutMs: 120_000,
        what: 'the failing worker to stop',
      });
      t.equal(failing.exitCode, 1, 'the worker stops with an error');
      t.ok(failing.hasState('ERROR'), 'the app reached state ERROR');
      t.match(
        failing.stderr.join(''),
        /refusing record 1500.*topic .*partition \d+, offset \d+/s,
        'the error names topic, partition and offset',
      );

      // At rest, each output partition holds exactly the input up to the committed offset: nothing of the aborted transaction.
      const committed = await committedOffsets(kafka, s.appId, s.input);
      const input = await readCommitted(s.brokers, s.input);
      const output = await readCommitted(s.brokers, s.output);
      for (let p = 0; p < PARTITIONS; p++) {
        const expected = input
          .filter((r) => r.partition === p && BigInt(r.offset) < (committed.get(p) ?? 0n))
          .map((r) => r.value);
        t.same(
          output.filter((r) => r.partition === p).map((r) => r.value),
          expected,
          `partition ${p} output is its committed input prefix`,
        );
      }
      t.notOk(
        output.some((r) => r.value === '1500'),
        'the failing record produced nothing',
      );

      const healthy = s.worker('healthy');
      await waitForInputConsumed(kafka, s.appId, s.input);
      await healthy.stop();
      await assertExactlyOnce(t, kafka, s);
    },
  );

  t.test(
    'three workers, one SIGKILLed mid-transaction: its tasks move and every input is output exactly once',
    async (t) => {
      const s = await scenario(t, cluster, 'sigkill');
      const workers = ['a', 'b', 'c'].map((n) => s.worker(n));
      await Promise.all(workers.map((w) => w.waitForState('RUNNING')));
      const total = 6000;
      await produceSequence(kafka, s.input, 0, 2000);
      await waitForCommittedAtLeast(kafka, s.appId, s.input, 500);
      const victim = workers[1]!;
      await victim.kill();
      await produceSequence(kafka, s.input, 2000, total - 2000);
      await waitForInputConsumed(kafka, s.appId, s.input);
      await Promise.all(workers.map((w) => w.stop()));
      await assertExactlyOnce(t, kafka, s);
    },
  );

  t.test(
    'a zombie worker (SIGSTOP past the session timeout) is fenced on SIGCONT, rejoins, and output stays exactly once',
    async (t) => {
      const s = await scenario(t, cluster, 'zombie');
      const a = s.worker('a');
      const b = s.worker('b');
      await Promise.all([a.waitForState('RUNNING'), b.waitForState('RUNNING')]);
      await waitFor(() => a.tasks.length > 0 && b.tasks.length > 0, {
        timeoutMs: 60_000,
        what: 'both workers to own tasks',
      });
      const load = backgroundLoad(cluster.bootstrapServers, s.input);
      t.teardown(() => load.stop().then(() => undefined));
      await waitForCommittedAtLeast(kafka, s.appId, s.input, 300);
      a.signalWith('SIGSTOP');
      await waitFor(() => b.tasks.length === PARTITIONS, {
        timeoutMs: 60_000,
        what: 'the live worker to take every task',
      });
      const before = await totalCommitted(kafka, s.appId, s.input);
      await waitForCommittedAtLeast(kafka, s.appId, s.input, before + 200);
      t.pass('the tasks made progress on their new owner while the zombie was stopped');
      a.signalWith('SIGCONT');
      await waitFor(() => a.tasks.length > 0, {
        timeoutMs: 90_000,
        what: 'the zombie to rejoin and take tasks again',
      });
      const { attempted, failedBatches } = await load.stop();
      t.comment(`load: ${attempted} records attempted, ${failedBatches} batches failed`);
      await waitForInputConsumed(kafka, s.appId, s.input);
      t.match(a.stderr.join(''), /was fenced/, 'the zombie was fenced on its next send or commit');
      await Promise.all([a.stop(), b.stop()]);
      await assertExactlyOnce(t, kafka, s);
    },
  );

  t.test('workers join and leave gracefully several times under load: exactly once', async (t) => {
    const s = await scenario(t, cluster, 'churn');
    const first = s.worker('w0');
    await first.waitForState('RUNNING');
    const load = backgroundLoad(cluster.bootstrapServers, s.input);
    t.teardown(() => load.stop().then(() => undefined));
    const live: Worker[] = [first];
    for (let i = 1; i <= 4; i++) {
      const joined = s.worker(`w${i}`);
      live.push(joined);
      await joined.waitForState('RUNNING');
      const before = await totalCommitted(kafka, s.appId, s.input);
      await waitForCommittedAtLeast(kafka, s.appId, s.input, before + 100);
      if (live.length > 2) {
        const leaving = live.shift()!;
        await leaving.stop();
        t.equal(leaving.exitCode, 0, `worker ${leaving.name} closed cleanly`);
      }
    }
    const { attempted } = await load.stop();
    await waitForInputConsumed(kafka, s.appId, s.input);
    await Promise.all(live.map((w) => w.stop()));
    await assertExactlyOnce(t, kafka, s);
  });

  t.test(
    'SIGKILL of an input partition leader, then of a task transaction coordinator: the app keeps running, exactly once',
    async (t) => {
      const s = await scenario(t, cluster, 'broker-kill');
      const a = s.worker('a');
      const b = s.worker('b');
      await Promise.all([a.waitForState('RUNNING'), b.waitForState('RUNNING')]);
      const load = backgroundLoad(cluster.bootstrapServers, s.input);
      t.teardown(() => load.stop().then(() => undefined));
      await waitForCommittedAtLeast(kafka, s.appId, s.input, 300);

      const leader = await cluster.leaderOf(s.input, 0);
      await cluster.kill(leader);
      let before = await totalCommitted(kafka, s.appId, s.input);
      await waitForCommittedAtLeast(kafka, s.appId, s.input, before + 300, 120_000);
      t.pass(`processing went on after broker ${leader}, leader of ${s.input}-0, was killed`);
      await cluster.restart(leader);

      const coordinator = await cluster.transactionCoordinatorOf(`${s.appId}-0_1`);
      await cluster.kill(coordinator);
      before = await totalCommitted(kafka, s.appId, s.input);
      await waitForCommittedAtLeast(kafka, s.appId, s.input, before + 300, 120_000);
      t.pass(
        `processing went on after broker ${coordinator}, coordinator of ${s.appId}-0_1, was killed`,
      );
      await cluster.restart(coordinator);

      const { attempted, failedBatches } = await load.stop();
      t.comment(`load: ${attempted} records attempted, ${failedBatches} batches failed`);
      await waitForInputConsumed(kafka, s.appId, s.input, 180_000);
      t.ok(a.running && b.running, 'both workers are still running');
      await Promise.all([a.stop(), b.stop()]);
      await assertExactlyOnce(t, kafka, s);
    },
  );
});

interface Scenario {
  brokers: string[];
  input: string;
  output: string;
  appId: string;
  worker: (name: string, env?: NodeJS.ProcessEnv) => Worker;
}

async function scenario(t: Test, cluster: KafkaCluster, name: string): Promise<Scenario> {
  const input = uniqueName(`${name}-in`);
  const output = uniqueName(`${name}-out`);
  const appId = uniqueName(`${name}-app`);
  await cluster.createTopic(input, { partitions: PARTITIONS, replicationFactor: 3 });
  await cluster.createTopic(output, { partitions: PARTITIONS, replicationFactor: 3 });
  const worker = workerPool(t, echoApp, {
    INPUT: input,
    OUTPUT: output,
    APP_ID: appId,
    BROKERS: cluster.bootstrapServers.join(','),
  });
  return { brokers: cluster.bootstrapServers, input, output, appId, worker };
}

/** Echo output must hold each value of the input topic exactly once, and per key in input order. */
async function assertExactlyOnce(t: Test, kafka: KafkaClient, s: Scenario): Promise<void> {
  const input = await readCommitted(s.brokers, s.input);
  const output = await readCommitted(s.brokers, s.output);
  const total = input.length;
  const report = exactlyOnceReport(
    input.map((r) => r.value),
    output.map((r) => r.value),
  );
  t.same(report.missing.slice(0, 20), [], `no input is missing (${report.missing.length} missing)`);
  t.same(
    report.duplicates.slice(0, 20),
    [],
    `no input is output twice (${report.duplicates.length} duplicated)`,
  );
  t.same(report.unexpected.slice(0, 20), [], 'nothing else is output');
  const lastByKey = new Map<string, number>();
  let disorder = 0;
  for (const r of output) {
    const v = Number(r.value);
    if ((lastByKey.get(r.key) ?? -1) > v) disorder++;
    lastByKey.set(r.key, v);
  }
  t.equal(disorder, 0, 'per key, output is in input order');
  t.equal(output.length, total, `${total} records output`);
}

async function committedOffsets(
  kafka: KafkaClient,
  groupId: string,
  topic: string,
): Promise<Map<number, bigint>> {
  return kafka.admin.committedOffsets(groupId, topic);
}

async function waitForCommittedAtLeast(
  kafka: KafkaClient,
  groupId: string,
  topic: string,
  n: number,
  timeoutMs = 120_000,
): Promise<void> {
  await waitFor(async () => (await totalCommitted(kafka, groupId, topic).catch(() => 0)) >= n, {
    timeoutMs,
    intervalMs: 250,
    what: `group ${groupId} to commit ${n} offsets on ${topic}`,
  });
}

/**
 * Waits until the group has committed the end of every input partition.
 * Input written by a plain idempotent producer has no transaction markers,
 * so the committed offsets then sum to the records in the topic.
 */
async function waitForInputConsumed(
  kafka: KafkaClient,
  groupId: string,
  topic: string,
  timeoutMs = 120_000,
): Promise<void> {
  const total = await totalRecords(kafka, topic);
  await waitForCommittedAtLeast(kafka, groupId, topic, total, timeoutMs);
}
