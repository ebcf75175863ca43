// Standby tasks (framework/runtime/standby-task.ts) on the in-memory Kafka: they tail
// committed changelog records only, never produce, and hand their state directory to the
// active task, which then replays only the tail; every holder of a directory waits for the
// previous one to close.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type {
  ConsumedBatch,
  ConsumedRecord,
  TopicPartition,
} from '../../../framework/client/index.ts';
import {
  Serdes,
  Topology,
  type Processor,
  type ProcessorContext,
} from '../../../framework/index.ts';
import { compileStreamsAppOptions } from '../../../framework/options.ts';
import { tasksOf } from '../../../framework/runtime/assignment.ts';
import { StandbyTask } from '../../../framework/runtime/standby-task.ts';
import type { RestoreEvent } from '../../../framework/runtime/state-manager.ts';
import { createStandbyEnvironment } from '../../../framework/runtime/task-environment.ts';
import { TaskManager } from '../../../framework/runtime/task-manager.ts';
import { Stores, type KeyValueStore } from '../../../stores/index.ts';
import { waitFor } from '../../../testkit/index.ts';
import { MemoryOutput } from '../../support/memory-output.ts';

const CHANGELOG = 'app-counts-changelog';

function countTopology(): Topology {
  return new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'count',
      (): Processor<string, string, string, string> => {
        let ctx!: ProcessorContext<string, string>;
        let counts!: KeyValueStore<string, number>;
        return {
          init(c) {
            ctx = c;
            counts = c.getStateStore('counts');
          },
          process(r) {
            const n = (counts.get(r.key) ?? 0) + 1;
            counts.put(r.key, n);
            return ctx.forward({ ...r, value: `${r.key}=${n}` });
          },
        };
      },
      'src',
    )
    .addStateStore(
      Stores.keyValue('counts', { keySerde: Serdes.string(), valueSerde: Serdes.int32() }),
      'count',
    )
    .addSink(
      'out',
      { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'count',
    );
}

function batch(from: number, n: number, keys = 3): ConsumedBatch {
  const records: ConsumedRecord[] = Array.from({ length: n }, (_, i) => ({
    topic: 'in',
    partition: 0,
    offset: BigInt(from + i),
    key: Buffer.from(`k${(from + i) % keys}`),
    value: Buffer.from(String(from + i)),
    timestamp: 1_000 + from + i,
    headers: {},
  }));
  return {
    topic: 'in',
    partition: 0,
    records,
    highWatermark: BigInt(from + n),
    isStale: () => false,
    heartbeat: async () => undefined,
  };
}

const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamtx-standby-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A worker: its own task manager and state directory, on a Kafka shared with the others. */
function worker(t: Test, shared?: MemoryOutput) {
  const output = new MemoryOutput();
  if (shared) output.logs = shared.logs;
  const options = compileStreamsAppOptions({
    applicationId: 'app',
    brokers: ['127.0.0.1:1'],
    commitIntervalMs: 0, // commit after every batch
    stateDir: tempDir(t), // each worker its own (t.testdir() would be one per test)
  });
  const topology = countTopology().build('app');
  const specs = new Map(
    tasksOf([{ id: 0, topics: ['in'], partitions: 1, stateful: true }]).map((s) => [s.id, s]),
  );
  const consumer = {
    pause: (_: TopicPartition[]) => undefined,
    resume: (_: TopicPartition[]) => undefined,
    seek: () => undefined,
  };
  const restores: RestoreEvent[] = [];
  const logs: string[] = [];
  const manager = new TaskManager({
    topology,
    options,
    specs,
    consumer,
    environment: (taskId, control) => {
      const env = output.environment(taskId, options, { seek: control.seek, now: Date.now, logs });
      return { ...env, restoring: (e) => void restores.push(e) };
    },
    standbyEnvironment: () =>
      createStandbyEnvironment({
        options,
        client: output.client,
        log: (_level, message) => void logs.push(message),
      }),
    log: (_level, message) => void logs.push(message),
    fatal: (e) => t.fail(`fatal: ${e.message}`),
    changed: () => undefined,
    now: Date.now,
  });
  t.teardown(() => manager.closeAll());
  return { manager, output, options, topology, restores, logs };
}

t.test(
  'a standby applies committed changelog records only, and never creates a producer',
  async (t) => {
    const w = worker(t);
    const writer = w.output.client.transactionalProducer('app-0_0');
    await writer.init();
    const write = async (key: string, n: number, outcome: 'commit' | 'abort') => {
      writer.begin();
      await writer.send(CHANGELOG, [{ key, value: int32(n), partition: 0 }]);
      await (outcome === 'commit' ? writer.commit() : writer.abort());
    };
    await write('a', 1, 'commit');
    await write('a', 999, 'abort'); // never visible to a read_committed reader
    await write('b', 2, 'commit');
    const producersBefore = w.output.client.producers.size;
    const standby = new StandbyTask(
      '0_0',
      0,
      w.topology.subtopologies[0]!,
      createStandbyEnvironment({ options: w.options, client: w.output.client, log: () => {} }),
    );
    standby.start();
    t.teardown(() => standby.close());
    await waitFor(() => standby.replayedRecords === 2 && standby.storeLags[0]?.lag === 0, {
      what: 'the standby caught up',
    });
    const store = standby.store('counts') as KeyValueStore<string, number>;
    t.equal(store.get('a'), 1, 'the committed value');
    t.equal(store.get('b'), 2);
    t.equal(
      standby.storeLags[0]?.offset,
      await endOf(w.output),
      'checkpoint at the end, markers included',
    );
    await write('a', 3, 'commit');
    await waitFor(() => store.get('a') === 3, { what: 'the standby to tail the new record' });
    t.equal(w.output.client.producers.size, producersBefore, 'the standby made no producer');
    await standby.close();
    t.equal(standby.state, 'CLOSED');
    t.equal(standby.store('counts'), undefined, 'its stores are released');
  },
);

/** Whether the input offset has been committed (the commit runs after process() returns). */
function committed(output: MemoryOutput, offset: bigint): boolean {
  return output.offsets.some((o) => o.partition === 0 && o.offset === offset);
}

async function endOf(output: MemoryOutput): Promise<bigint> {
  return (await output.client.admin.endOffsets(CHANGELOG)).get(0) ?? 0n;
}

t.test(
  'failover to the standby’s worker replays only the tail, and counts go on exactly',
  async (t) => {
    const a = worker(t);
    const b = worker(t, a.output);
    a.manager.assign({ in: [0] });
    await waitFor(() => a.manager.allRunning, { what: 'the active on a' });
    b.manager.assignStandbys(new Set(['0_0']));
    t.same(b.manager.standbyTasks, ['0_0']);
    for (let i = 0; i < 300; i += 30) await a.manager.process(batch(i, 30, 100));
    // Each batch's commit runs on the task's queue after process() returned.
    await waitFor(() => committed(a.output, 300n), { what: 'the batches committed' });
    const standby = b.manager.standby('0_0')!;
    await waitFor(() => standby.storeLags[0]?.lag === 0 && standby.replayedRecords > 0, {
      what: 'the standby caught up',
    });
    t.equal(b.output.client.producers.size, 0, 'the standby’s worker has no producer');
    t.ok(b.manager.stateOffsets()['0_0']! > 0n, 'b reports the state it holds');

    // The active's worker dies (its last transaction is left open), the task moves to b.
    await a.manager.process(batch(300, 10, 100));
    await waitFor(() => committed(a.output, 310n), { what: "a's last batch committed" });
    b.manager.assign({ in: [0] });
    t.same(b.manager.standbyTasks, [], 'the standby gave way to the active task');
    await waitFor(() => b.manager.allRunning, { what: 'the task running on b' });
    const restored = b.restores.filter((e) => e.done).map((e) => e.restored);
    t.same(restored.length, 1);
    t.ok(restored[0]! <= 100, `replayed only the tail (${restored[0]} of 310 changelog records)`);
    t.notOk(
      b.restores.some((e) => e.rebuildReason),
      'the state directory the standby kept was trusted',
    );
    await b.manager.process(batch(310, 1, 100));
    await waitFor(() => committed(b.output, 311n), { what: "b's first batch committed" });
    t.equal(
      a.output.values('out').at(-1),
      'k10=4',
      'the next count follows the committed state (k10 seen at 10, 110, 210, 310)',
    );
  },
);

t.test('a standby and the active task on one worker take turns with the directory', async (t) => {
  const w = worker(t);
  w.manager.assign({ in: [0] });
  await waitFor(() => w.manager.allRunning, { what: 'the task running' });
  for (let i = 0; i < 50; i += 10) await w.manager.process(batch(i, 10));
  await waitFor(() => committed(w.output, 50n), { what: 'the batches committed' });
  const activeOffset = w.manager.stateOffsets()['0_0'];
  t.ok(activeOffset !== undefined && activeOffset > 0n, 'the running task reports its offset');

  w.manager.assign({}); // revoked: the task commits and closes...
  w.manager.assignStandbys(new Set(['0_0'])); // ...and a standby takes its directory after it
  const standby = w.manager.standby('0_0')!;
  await waitFor(() => standby.offsetSum !== undefined, { what: 'the standby open' });
  t.equal(standby.offsetSum, activeOffset, 'it starts from the state the task left');
  t.equal(standby.replayedRecords, 0, 'nothing to replay');

  w.manager.assign({ in: [0] }); // back: the standby closes first, the task waits for it
  await waitFor(() => w.manager.allRunning, { what: 'the task back' });
  t.equal(standby.state, 'CLOSED');
  t.same(
    w.restores.filter((e) => e.done).map((e) => e.restored),
    [0, 0],
    'neither start replayed anything',
  );
  await w.manager.closeAll();
  const next = worker(t);
  // A fresh manager on the same directory reads the offset from the store file.
  const fresh = new TaskManager({
    topology: w.topology,
    options: w.options,
    specs: new Map(
      tasksOf([{ id: 0, topics: ['in'], partitions: 1, stateful: true }]).map((s) => [s.id, s]),
    ),
    consumer: { pause: () => undefined, resume: () => undefined, seek: () => undefined },
    environment: (taskId) => next.output.environment(taskId, w.options),
    log: () => undefined,
    fatal: () => undefined,
    changed: () => undefined,
    now: Date.now,
  });
  t.same(fresh.stateOffsets(), { '0_0': activeOffset }, 'held state is reported from disk');
});
