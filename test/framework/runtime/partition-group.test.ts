// A task reading several partitions processes them in timestamp order
// (framework/runtime/partition-group.ts), waiting for a partition without
// buffered records only as long as max.task.idle.ms semantics say.
import t from 'tap';
import type { ConsumedRecord } from '../../../framework/client/index.ts';
import {
  Serdes,
  Topology,
  type Processor,
  type ProcessorContext,
} from '../../../framework/index.ts';
import { compileStreamsAppOptions } from '../../../framework/options.ts';
import {
  MAX_WAIT_FOR_FETCH_MS,
  PartitionGroup,
} from '../../../framework/runtime/partition-group.ts';
import { StreamTask } from '../../../framework/runtime/stream-task.ts';
import { waitFor } from '../../../testkit/index.ts';
import { MemoryOutput } from '../../support/memory-output.ts';

const rec = (topic: string, offset: number, timestamp: number): ConsumedRecord => ({
  topic,
  partition: 0,
  offset: BigInt(offset),
  key: Buffer.from('k'),
  value: Buffer.from(`${topic}${timestamp}`),
  timestamp,
  headers: {},
});
const tps = [
  { topic: 'a', partition: 0 },
  { topic: 'b', partition: 0 },
];
const at0 = (): bigint => 0n;

t.test('the smallest head timestamp goes first; ties to the partition listed first', async (t) => {
  const g = new PartitionGroup(tps, -1, (r) => r.timestamp);
  g.add([rec('a', 0, 1), rec('a', 1, 3), rec('a', 2, 5)]);
  g.add([rec('b', 0, 3), rec('b', 1, 4)]);
  const order: string[] = [];
  for (let n = g.next(0, at0); n.kind === 'record'; n = g.next(0, at0))
    order.push(String(n.record.value));
  t.same(order, ['a1', 'a3', 'b3', 'b4', 'a5']);
});

t.test(
  'a partition with nothing buffered holds the others back until it is known caught up',
  async (t) => {
    const g = new PartitionGroup(tps, 0, (r) => r.timestamp);
    g.add([rec('a', 0, 10)]);
    const first = g.next(1_000, at0);
    t.same(first, { kind: 'wait', refresh: [{ topic: 'b', partition: 0 }] }, 'asks for b’s end');
    t.same(g.next(1_001, at0), { kind: 'wait', refresh: [] }, 'asks once');
    g.learnEnd('b', 0, 3n, 1_010);
    t.equal(g.next(1_011, at0).kind, 'wait', 'b has records not fetched yet: waits for them');
    g.add([rec('b', 0, 5)]);
    const next = g.next(1_012, at0);
    t.equal(next.kind === 'record' && String(next.record.value), 'b5', 'then orders by time');
    const bAt = (k: string): bigint => (k === 'b:0' ? 1n : 0n);
    t.equal(g.next(2_000, bAt).kind, 'wait', 'b is empty again, with records not fetched');
    t.equal(g.next(2_000 + MAX_WAIT_FOR_FETCH_MS, bAt).kind, 'record', 'never waits past the cap');
  },
);

t.test(
  'caught up: maxTaskIdleMs 0 goes on at once, 200 waits 200 ms, -1 never waits',
  async (t) => {
    for (const [idle, waits] of [
      [0, false],
      [200, true],
    ] as const) {
      const g = new PartitionGroup(tps, idle, (r) => r.timestamp);
      g.add([rec('a', 0, 10)]);
      g.next(1_000, at0);
      g.learnEnd('b', 0, 0n, 1_000);
      t.equal(g.next(1_050, at0).kind, waits ? 'wait' : 'record', `idle ${idle} at +50 ms`);
      if (waits) {
        g.learnEnd('b', 0, 0n, 1_199);
        t.equal(g.next(1_200, at0).kind, 'record', 'goes on once the idle time passed');
      }
    }
    const never = new PartitionGroup(tps, -1, (r) => r.timestamp);
    never.add([rec('a', 0, 10)]);
    t.equal(never.next(0, at0).kind, 'record');
  },
);

t.test('redelivered records are not buffered twice', async (t) => {
  const g = new PartitionGroup(tps, -1, (r) => r.timestamp);
  g.start('a', 0, 5n);
  g.add([rec('a', 4, 1), rec('a', 5, 2), rec('a', 6, 3)]);
  g.add([rec('a', 5, 2), rec('a', 6, 3), rec('a', 7, 4)]);
  t.equal(g.buffered('a', 0), 3);
});

t.test(
  'a task with two input topics merges them in timestamp order, whatever the batch order',
  async (t) => {
    const output = new MemoryOutput();
    // Both topics hold their records in the (in-memory) Kafka; the task is fed a's batch first.
    output.kafka.append(
      'a',
      [1, 3, 5].map((ts) => ({ key: 'k', value: `a${ts}`, timestamp: ts, partition: 0 })),
    );
    output.kafka.append(
      'b',
      [2, 4].map((ts) => ({ key: 'k', value: `b${ts}`, timestamp: ts, partition: 0 })),
    );
    const topology = new Topology()
      .addSource('src', {
        topics: ['a', 'b'],
        keySerde: Serdes.string(),
        valueSerde: Serdes.string(),
      })
      .addProcessor(
        'p',
        (): Processor<string, string, string, string> => {
          let ctx!: ProcessorContext<string, string>;
          return { init: (c) => void (ctx = c), process: (r) => ctx.forward(r) };
        },
        'src',
      )
      .addSink(
        'out',
        { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
        'p',
      );
    const options = compileStreamsAppOptions({
      applicationId: 'app',
      brokers: ['127.0.0.1:1'],
      stateDir: t.testdir(),
    });
    const task = new StreamTask(
      '0_0',
      0,
      topology.build().subtopologies[0]!,
      output.environment('0_0', options, { now: Date.now }),
    );
    await task.init();
    await task.process([1, 3, 5].map((ts, i) => rec('a', i, ts)));
    await waitFor(
      async () => {
        await task.poke();
        return true;
      },
      { what: 'b’s end offset learned' },
    );
    await task.commit();
    t.same(
      output.values('out'),
      [],
      'nothing of a is processed while b has records not yet fetched',
    );
    await task.process([2, 4].map((ts, i) => rec('b', i, ts)));
    await waitFor(
      async () => {
        await task.poke();
        await task.commit();
        return output.values('out').length === 5;
      },
      { what: 'every record processed' },
    );
    t.same(output.values('out'), ['a1', 'b2', 'a3', 'b4', 'a5']);
    await task.close();
  },
);
