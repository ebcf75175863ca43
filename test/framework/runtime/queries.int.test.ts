// Interactive queries on a real cluster (issue 16): app.store() answers committed values only
// — a value written in a transaction that is then aborted is never visible — and
// metadataForKey agrees, on every worker, with the owner of the key's partition.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  Serdes,
  StreamsApp,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record as StreamRecord,
} from '../../../framework/index.ts';
import { transactionalId } from '../../../framework/names.ts';
import { Stores, type KeyValueStore, type ReadOnlyKeyValueStore } from '../../../stores/index.ts';
import { produceRecords, waitFor } from '../../../testkit/index.ts';
import { clusterFor, exitWhenDone } from '../../support/cluster.ts';
import { uniqueName } from '../../support/ids.ts';
import { readCommitted, testClient, transactionalProducer } from '../../support/kafka.ts';

const PARTITIONS = 4;

/** Test hooks into the processor: a gate a record can wait on, and what it wrote. */
interface Hooks {
  gate: Promise<void> | undefined;
  attempts: Map<string, number>;
  writes: string[];
}

function topology(input: string, output: string, hooks: Hooks): Topology {
  class Latest implements Processor<string, string, string, string> {
    private context!: ProcessorContext<string, string>;
    private store!: KeyValueStore<string, string>;
    init(context: ProcessorContext<string, string>): void {
      this.context = context;
      this.store = context.getStateStore<KeyValueStore<string, string>>('latest');
    }
    async process(record: StreamRecord<string, string>): Promise<void> {
      // The attempt number tells a write of an aborted transaction from the retry's.
      const id = `${record.key}/${record.value}`;
      const attempt = (hooks.attempts.get(id) ?? 0) + 1;
      hooks.attempts.set(id, attempt);
      const value = record.value.startsWith('hold') ? `${record.value}#${attempt}` : record.value;
      this.store.put(record.key, value);
      hooks.writes.push(`${record.key}=${value}`);
      if (record.value.startsWith('hold') && hooks.gate) await hooks.gate;
      await this.context.forward({ ...record, value, headers: {} });
    }
  }
  return new Topology()
    .addSource('in', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor('latest', () => new Latest(), 'in')
    .addStateStore(
      Stores.keyValue('latest', { keySerde: Serdes.string(), valueSerde: Serdes.string() }),
      'latest',
    )
    .addSink(
      'out',
      { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'latest',
    );
}

async function setup(t: Test, workers: number) {
  const cluster = await clusterFor(t, { brokers: 1 });
  const brokers = cluster.bootstrapServers;
  const appId = uniqueName('iq');
  const input = `${appId}-in`;
  const output = `${appId}-out`;
  await cluster.createTopic(input, { partitions: PARTITIONS });
  await cluster.createTopic(output, { partitions: PARTITIONS });
  const hooks: Hooks = { gate: undefined, attempts: new Map(), writes: [] };
  const apps = Array.from({ length: workers }, (_, i) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'streamtx-iq-'));
    t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
    return new StreamsApp(topology(input, output, hooks), {
      applicationId: appId,
      brokers,
      stateDir,
      applicationServer: `worker-${i}:${8000 + i}`,
      numStandbyReplicas: 1,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      logLevel: 'warn',
    });
  });
  t.teardown(() => Promise.all(apps.map((a) => a.close())));
  for (const app of apps) await app.start();
  await waitFor(
    () =>
      apps.every((a) => a.state === 'RUNNING') &&
      apps.flatMap((a) => a.runningTasks).length === PARTITIONS &&
      apps.every((a) => a.allMetadata().length === workers),
    { timeoutMs: 120_000, what: `${PARTITIONS} tasks running over ${workers} workers` },
  );
  return { brokers, appId, input, output, apps, hooks };
}

exitWhenDone(t); // see test/support/cluster.ts

t.test(
  'interactive queries see committed values only: an aborted write is never visible',
  async (t) => {
    const { brokers, appId, input, apps, hooks } = await setup(t, 1);
    const app = apps[0]!;
    const view = app.store<ReadOnlyKeyValueStore<string, string>>('latest');
    await produceRecords(brokers, input, [{ key: 'k', value: 'v1' }]);
    await waitFor(() => view.get('k') === 'v1', { what: 'the first value committed and visible' });

    // Every value a reader ever sees, polled throughout.
    const seen = new Set<string>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const v = view.get('k');
        if (v !== undefined) seen.add(v);
        for (const e of view.all()) seen.add(e.value);
        await new Promise((r) => setTimeout(r, 5)); // sampling the store, not synchronising
      }
    })();

    let release!: () => void;
    hooks.gate = new Promise<void>((resolve) => (release = resolve));
    await produceRecords(brokers, input, [{ key: 'k', value: 'hold' }]);
    await waitFor(() => hooks.writes.includes('k=hold#1'), {
      what: 'the write inside the open transaction',
    });
    t.equal(view.get('k'), 'v1', 'while the transaction is open the committed value is read');

    // Fence the task (a new producer with its transactional id): its open transaction is
    // aborted, so the write of attempt 1 must never become visible.
    const { taskId } = app.metadataForKey('latest', 'k');
    const kafka = await testClient(brokers);
    t.teardown(() => kafka.close());
    const zombieKiller = await transactionalProducer(kafka, transactionalId(appId, taskId));
    await zombieKiller.close();
    release();
    t.equal(view.get('k'), 'v1', 'after the abort, still the committed value');

    // The task is rebuilt, re-reads the record from its committed offset and commits attempt 2.
    await waitFor(() => view.get('k') === 'hold#2', {
      timeoutMs: 60_000,
      what: 'the retried record committed and visible',
    });
    polling = false;
    await poller;
    t.ok(hooks.writes.includes('k=hold#1'), 'attempt 1 did write to the store');
    t.notOk(seen.has('hold#1'), `never visible to a query (seen: ${[...seen].join(', ')})`);
    t.ok(seen.has('v1') && seen.has('hold#2'));
    const out = (await readCommitted(brokers, `${appId}-out`)).map((r) => r.value);
    t.same(out, ['v1', 'hold#2'], 'the output agrees: attempt 1 was aborted');
  },
);

t.test('metadataForKey agrees on every worker with the owner of the key’s partition', async (t) => {
  const { brokers, input, apps } = await setup(t, 2);
  const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
  await produceRecords(
    brokers,
    input,
    keys.map((key) => ({ key, value: key })),
  );
  const inputs = await readCommitted(brokers, input);
  const partitionOf = new Map(inputs.map((r) => [r.key, r.partition]));
  const views = apps.map((a) => a.store<ReadOnlyKeyValueStore<string, string>>('latest'));
  await waitFor(() => views.reduce((n, v) => n + v.approximateNumEntries(), 0) === keys.length, {
    timeoutMs: 60_000,
    what: 'every key stored',
  });
  const endpointOf = (i: number): string => `worker-${i}:${8000 + i}`;
  let agreed = 0;
  for (const key of keys) {
    const metas = apps.map((a) => a.metadataForKey('latest', key));
    const meta = metas[0]!;
    if (metas.some((m) => JSON.stringify(m) !== JSON.stringify(meta)))
      t.fail(`workers disagree on ${key}: ${JSON.stringify(metas)}`);
    if (meta.partition !== partitionOf.get(key))
      t.fail(`${key}: partition ${meta.partition}, but it was produced to ${partitionOf.get(key)}`);
    const owner = apps.findIndex((a) => a.runningTasks.includes(meta.taskId));
    const host = `${meta.activeHost?.host}:${meta.activeHost?.port}`;
    if (host !== endpointOf(owner))
      t.fail(`${key}: metadata names ${host}, owner ${endpointOf(owner)}`);
    if (views[owner]!.get(key) !== key) t.fail(`${key}: not in its owner's store`);
    if (views[1 - owner]!.get(key) !== undefined) t.fail(`${key}: found on the other worker`);
    const standby = meta.standbyHosts.map((h) => `${h.host}:${h.port}`);
    if (standby.join() !== endpointOf(1 - owner)) t.fail(`${key}: standby hosts ${standby.join()}`);
    agreed++;
  }
  t.equal(agreed, keys.length, 'every key: same answer everywhere, the right partition and owner');
  const stale = apps[1 - apps.findIndex((a) => a.runningTasks.includes('0_0'))]!.store<
    ReadOnlyKeyValueStore<string, string>
  >('latest', { includeStandbys: true });
  await waitFor(() => stale.approximateNumEntries() === keys.length, {
    what: 'the standby copies answering queries that allow them',
  });
  t.same(
    apps.map((a) =>
      a
        .allMetadata()
        .map((w) => w.hostInfo?.port)
        .sort(),
    ),
    [
      [8000, 8001],
      [8000, 8001],
    ],
    'allMetadata names every worker',
  );
  t.throws(() => apps[0]!.store('nope'), /No state store "nope".*latest/);
  t.throws(() => apps[0]!.metadataForKey('nope', 'k'), /No state store "nope"/);
});
