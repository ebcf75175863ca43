// The task manager on the in-memory Kafka: assignment → tasks (paused until
// fenced and sought), revocation, and a job stuck past its time limit — the
// task is abandoned, its next incarnation fences the producer before it
// reopens the stores, and no abort ever runs while a send is in flight.
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
import { TaskManager } from '../../../framework/runtime/task-manager.ts';
import { Stores, type KeyValueStore } from '../../../stores/index.ts';
import { waitFor } from '../../../testkit/index.ts';
import { MemoryOutput } from '../../support/memory-output.ts';

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
            return ctx.forward({ ...r, value: String(n) });
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

function batch(partition: number, from: number, n: number): ConsumedBatch {
  const records: ConsumedRecord[] = Array.from({ length: n }, (_, i) => ({
    topic: 'in',
    partition,
    offset: BigInt(from + i),
    key: Buffer.from(`k${(from + i) % 3}`),
    value: Buffer.from(String(from + i)),
    timestamp: 1_000 + from + i,
    headers: {},
  }));
  return {
    topic: 'in',
    partition,
    records,
    highWatermark: BigInt(from + n),
    isStale: () => false,
    heartbeat: async () => undefined,
  };
}

/** `jobLimitMs`: a number, or a function read at each job (to give later jobs another limit). */
function harness(t: Test, jobLimitMs?: number | (() => number)) {
  const output = new MemoryOutput();
  const options = compileStreamsAppOptions({
    applicationId: 'app',
    brokers: ['127.0.0.1:1'],
    commitIntervalMs: 0, // commit after every batch
    stateDir: t.testdir(),
  });
  const topology = countTopology().build('app');
  const specs = new Map(
    tasksOf([{ id: 0, topics: ['in'], partitions: 2 }]).map((s) => [s.id, s] as const),
  );
  const consumer = {
    paused: new Set<string>(),
    seeks: [] as string[],
    pause(tps: TopicPartition[]) {
      for (const tp of tps) this.paused.add(`${tp.topic}-${tp.partition}`);
    },
    resume(tps: TopicPartition[]) {
      for (const tp of tps) this.paused.delete(`${tp.topic}-${tp.partition}`);
    },
    seek(topic: string, partition: number, offset: bigint) {
      this.seeks.push(`${topic}-${partition}@${offset}`);
    },
  };
  const logs: string[] = [];
  const fatal: Error[] = [];
  const deps: ConstructorParameters<typeof TaskManager>[0] = {
    topology,
    options,
    specs,
    consumer,
    environment: (taskId, control) =>
      output.environment(taskId, options, { seek: control.seek, now: Date.now }),
    log: (_level, message) => void logs.push(message),
    fatal: (e) => void fatal.push(e),
    changed: () => undefined,
    now: Date.now,
  };
  // The manager reads the limit at each job, so a getter gives later jobs another one.
  if (typeof jobLimitMs === 'number') deps.jobLimitMs = jobLimitMs;
  else if (jobLimitMs) Object.defineProperty(deps, 'jobLimitMs', { get: jobLimitMs });
  const manager = new TaskManager(deps);
  t.teardown(() => manager.closeAll());
  return { manager, output, consumer, logs, fatal };
}

t.test('an assignment creates tasks that stay paused until fenced and sought', async (t) => {
  const { manager, output, consumer } = harness(t);
  manager.assign({ in: [0, 1] });
  t.same([...consumer.paused].sort(), ['in-0', 'in-1'], 'nothing is fetched before fencing');
  await waitFor(() => manager.allRunning, { what: 'both tasks running' });
  t.same(manager.running, ['0_0', '0_1']);
  t.equal(output.inits, 2, 'each task fenced (InitProducerId)');
  t.same(consumer.seeks.sort(), ['in-0@0', 'in-1@0']);
  t.same([...consumer.paused], [], 'resumed once sought');
  await manager.process(batch(0, 0, 3));
  // The commit runs on the task's queue after process() returned (the fetch loop goes on).
  await waitFor(() => output.values('out').length >= 3, { what: 'the batch committed' });
  t.same(output.values('out'), ['1', '1', '1']);
});

t.test(
  'a revoked task commits what is open and closes; a reassigned one starts from the commit',
  async (t) => {
    const { manager, output, consumer } = harness(t);
    manager.assign({ in: [0, 1] });
    await waitFor(() => manager.allRunning, { what: 'both tasks running' });
    await manager.process(batch(1, 0, 4));
    manager.assign({ in: [0] });
    t.same(manager.running, ['0_0']);
    await waitFor(() => output.offsets.some((o) => o.partition === 1 && o.offset === 4n), {
      what: 'the revoked task to have committed its offsets',
    });
    consumer.seeks.length = 0;
    manager.assign({ in: [0, 1] });
    await waitFor(() => manager.allRunning, { what: 'the task back' });
    t.ok(
      consumer.seeks.includes('in-1@4'),
      'the next incarnation starts after the committed records',
    );
  },
);

t.test(
  'a job stuck in a send past its time limit: the next incarnation fences before reopening the stores, and no abort runs during the send',
  async (t) => {
    const { manager, output, logs } = harness(t, 300);
    manager.assign({ in: [0] });
    await waitFor(() => manager.allRunning, { what: 'the task running' });
    let release!: () => void;
    output.client.faults.holdSends = new Promise<void>((resolve) => (release = resolve));
    await manager.process(batch(0, 0, 5)); // its commit's send never gets an answer
    await waitFor(
      () => /did not finish within 300 ms.*; rebuilding the task/.test(logs.join('\n')),
      {
        what: 'the time limit giving up on the stuck commit',
        timeoutMs: 10_000,
      },
    );
    t.pass('the time limit gave up on the stuck commit and the task is rebuilt');
    await waitFor(
      () => {
        manager.tick();
        return output.inits >= 2;
      },
      { what: 'the next incarnation to fence', timeoutMs: 10_000 },
    );
    t.notOk(
      manager.allRunning,
      'it waits for the stuck incarnation to close before opening the stores',
    );
    t.equal(output.client.faults.abortsWhileSending, 0, 'nothing aborted the in-flight send');
    output.client.faults.holdSends = undefined;
    release(); // the old send arrives late: the broker finds its epoch fenced
    await waitFor(() => manager.allRunning, {
      what: 'the rebuilt task running',
      timeoutMs: 10_000,
    });
    t.equal(
      output.client.faults.abortsWhileSending,
      0,
      'no abort ran while the send was in flight',
    );
    t.same(output.values('out'), [], 'the stuck transaction committed nothing');
    await manager.process(batch(0, 0, 5));
    await waitFor(() => output.values('out').length >= 5, {
      what: 'the reprocessed batch committed',
    });
    t.same(
      output.values('out'),
      ['1', '1', '1', '2', '2'],
      'reprocessed once, counts from committed state',
    );
  },
);

t.test(
  "a replaced incarnation's late failure neither pauses nor reschedules the incarnation that replaced it",
  async (t) => {
    // A job queued behind a stuck one times out later than it. By then the task has been
    // rebuilt: the next incarnation fenced the producer, forced the stuck one's stores closed
    // (after the job limit of transactionTimeoutMs, 30 s at least) and runs.
    let limitMs = 300;
    const { manager, output, consumer, logs, fatal } = harness(t, () => limitMs);
    manager.assign({ in: [0] });
    await waitFor(() => manager.allRunning, { what: 'the task running' });
    let release!: () => void;
    output.client.faults.holdSends = new Promise<void>((resolve) => (release = resolve));
    t.teardown(() => release());
    await manager.process(batch(0, 0, 5)); // its commit's send never gets an answer
    limitMs = 34_000; // the batch queued behind that commit gives up later
    const behind = manager.process(batch(0, 5, 2));
    await waitFor(() => /commit did not finish within 300 ms/.test(logs.join('\n')), {
      what: 'the stuck commit to be given up',
      timeoutMs: 10_000,
    });
    output.client.faults.holdSends = undefined; // the next incarnation's sends are answered
    await waitFor(
      () => {
        manager.tick();
        return manager.allRunning;
      },
      { what: 'the next incarnation running', timeoutMs: 40_000 },
    );
    t.same([...consumer.paused], [], 'the next incarnation fetches its partition');
    await behind;
    t.match(
      logs.join('\n'),
      /a replaced incarnation failed: Task 0_0: process did not finish within 34000 ms/,
      'the old incarnation gave up on the batch behind the stuck commit',
    );
    t.same([...consumer.paused], [], 'and that did not pause its successor');
    manager.tick();
    t.same(manager.running, ['0_0'], 'nor made the manager rebuild it');
    await manager.process(batch(0, 0, 7));
    await waitFor(() => output.values('out').length >= 7, {
      what: 'the successor committing',
    });
    t.same(output.values('out'), ['1', '1', '1', '2', '2', '2', '3']);
    t.same(fatal, []);
  },
);
