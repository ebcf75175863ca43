// StreamTask on an in-memory output: the commit cycle, punctuation, error
// handling and deserialization handlers, without a broker.
import t from 'tap';
import type { ConsumedRecord } from '../../../framework/client/index.ts';
import {
  Serdes,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record as StreamRecord,
} from '../../../framework/index.ts';
import { compileStreamsAppOptions } from '../../../framework/options.ts';
import { StreamTask } from '../../../framework/runtime/stream-task.ts';
import { MemoryOutput } from '../../support/memory-output.ts';
import { Stores, type KeyValueStore } from '../../../stores/index.ts';
import type { StreamsAppOptions } from '../../../framework/options.ts';

function harness(
  topology: Topology,
  options: Partial<StreamsAppOptions> = {},
  clock = { now: 1_000 },
) {
  const built = topology.build();
  const subtopology = built.subtopologies[0]!;
  const output = new MemoryOutput();
  const seeks: string[] = [];
  const logs: string[] = [];
  const env = output.environment(
    '0_0',
    compileStreamsAppOptions({
      applicationId: 'app',
      brokers: ['127.0.0.1:1'],
      commitIntervalMs: 100,
      ...options,
    }),
    { now: () => clock.now, seeks, logs },
  );
  const task = new StreamTask('0_0', 0, subtopology, env);
  return { task, output, seeks, logs, clock };
}

const rec = (
  offset: number,
  value: string | Buffer,
  timestamp = 1_000 + offset,
  topic = 'in',
): ConsumedRecord => ({
  topic,
  partition: 0,
  offset: BigInt(offset),
  key: Buffer.from(`k${offset}`),
  value: typeof value === 'string' ? Buffer.from(value) : value,
  timestamp,
  headers: { trace: Buffer.from(`t${offset}`) },
});

function mapTopology(
  process: (
    ctx: ProcessorContext<string, string>,
    r: StreamRecord<string, string>,
  ) => Promise<void> | void,
  init?: (ctx: ProcessorContext<string, string>) => void,
): Topology {
  return new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'p',
      (): Processor<string, string, string, string> => {
        let ctx!: ProcessorContext<string, string>;
        return {
          init(c) {
            ctx = c;
            init?.(c);
          },
          process: (r) => process(ctx, r),
        };
      },
      'src',
    )
    .addSink('out', { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'p');
}

t.test('init fences first, then seeks every source partition to its start offset', async (t) => {
  const { task, output, seeks } = harness(mapTopology((ctx, r) => ctx.forward(r)));
  await task.init();
  t.equal(output.inits, 1);
  t.same(seeks, ['in-0@0']);
  t.equal(task.state, 'RUNNING');
});

t.test(
  'outputs and the next offset to read commit together; records before the position are skipped',
  async (t) => {
    const { task, output } = harness(
      mapTopology((ctx, r) => ctx.forward({ ...r, value: r.value.toUpperCase() })),
    );
    await task.init();
    await task.process([rec(0, 'a'), rec(1, 'b')]);
    t.same(output.values('out'), [], 'nothing is visible before the commit');
    await task.commit();
    t.same(output.values('out'), ['A', 'B']);
    t.same(
      output.offsets,
      [{ topic: 'in', partition: 0, offset: 2n }],
      'the committed offset is last processed + 1',
    );
    await task.process([rec(1, 'b'), rec(2, 'c')]);
    await task.commit();
    t.same(output.values('out'), ['A', 'B', 'C'], 'a redelivered record is not processed twice');
  },
);

t.test('headers and timestamps flow from input to output', async (t) => {
  const { task, output } = harness(mapTopology((ctx, r) => ctx.forward(r)));
  await task.init();
  await task.process([rec(5, 'x', 42)]);
  await task.commit();
  const sent = output.committed[0]!.record;
  t.equal(sent.timestamp, 42);
  t.same(sent.headers, { trace: Buffer.from('t5') });
});

t.test(
  'a processor exception aborts the transaction: no partial output, the error names the record',
  async (t) => {
    const { task, output } = harness(
      mapTopology(async (ctx, r) => {
        if (r.value === 'bad') throw new Error('no thanks');
        await ctx.forward(r);
      }),
    );
    await task.init();
    await t.rejects(task.process([rec(0, 'ok'), rec(1, 'bad')]), {
      name: 'ProcessorError',
      message: /Processor "p" failed: no thanks \[task 0_0, topic in, partition 0, offset 1\]/,
    });
    t.equal(output.aborts, 1, 'the transaction was aborted');
    t.same(output.committed, [], 'the record before the failing one is not visible either');
    t.equal(task.state, 'CLOSED', 'a failed task is closed, never reused');
  },
);

t.test(
  'an undeserializable record fails the task by default, naming topic, partition and offset',
  async (t) => {
    const topology = new Topology()
      .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.int32() })
      .addProcessor('p', () => ({ process() {} }), 'src');
    const { task, output } = harness(topology);
    await task.init();
    await t.rejects(
      task.process([rec(0, Buffer.from([0, 0, 0, 1])), rec(1, Buffer.from([1, 2, 3]))]),
      {
        name: 'DeserializationError',
        message: /topic in, partition 0, offset 1/,
      },
    );
    t.same(output.offsets, [], 'nothing is committed past the bad record');
  },
);

t.test('the skip handler logs and moves past an undeserializable record', async (t) => {
  const topology = new Topology()
    .addSource('src', {
      topics: ['in'],
      keySerde: Serdes.string(),
      valueSerde: Serdes.json<{ n: number }>(),
    })
    .addProcessor(
      'p',
      (): Processor<string, { n: number }, string, string> => {
        let ctx!: ProcessorContext<string, string>;
        return {
          init: (c) => void (ctx = c),
          process: (r) => ctx.forward({ ...r, value: String(r.value.n) }),
        };
      },
      'src',
    )
    .addSink('out', { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'p');
  const { task, output, logs } = harness(topology, { deserializationErrorHandler: 'skip' });
  await task.init();
  await task.process([rec(0, '{"n":1}'), rec(1, '{oops'), rec(2, '{"n":3}')]);
  await task.commit();
  t.same(output.values('out'), ['1', '3']);
  t.same(output.offsets, [{ topic: 'in', partition: 0, offset: 3n }]);
  t.match(logs.join('\n'), /in-0@1/);
});

t.test(
  'the dead-letter handler sends the raw record with its origin, in the same transaction as the offsets',
  async (t) => {
    const topology = new Topology()
      .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.int32() })
      .addProcessor('p', () => ({ process() {} }), 'src');
    const { task, output } = harness(topology, {
      deserializationErrorHandler: { deadLetterTopic: 'dlq' },
    });
    await task.init();
    await task.process([rec(7, Buffer.from([9]))]);
    t.same(output.committed, [], 'not visible before the commit');
    await task.commit();
    const dead = output.committed.find((c) => c.topic === 'dlq')!.record;
    t.same(dead.value, Buffer.from([9]), 'the raw bytes');
    t.equal(dead.headers?.['streamtx.offset'], '7');
    t.equal(dead.headers?.['streamtx.topic'], 'in');
    t.match(String(dead.headers?.['streamtx.error']), /4 bytes/);
    t.same(output.offsets, [{ topic: 'in', partition: 0, offset: 8n }]);
  },
);

t.test(
  'stream-time punctuators fire on the first record, then at interval boundaries aligned to multiples of the interval, and their output joins the open transaction',
  async (t) => {
    const fired: number[] = [];
    const { task, output } = harness(
      mapTopology(
        () => undefined,
        (ctx) => {
          ctx.schedule(100, 'stream-time', async (ts) => {
            fired.push(ts);
            await ctx.forward({ key: 'tick', value: String(ts), timestamp: ts, headers: {} });
          });
        },
      ),
    );
    await task.init();
    await task.process([
      rec(0, 'a', 1000),
      rec(1, 'b', 1050),
      rec(2, 'c', 1100),
      rec(3, 'd', 1099),
      rec(4, 'e', 1450),
    ]);
    t.same(
      fired,
      [1000, 1100, 1450],
      'on the first record, then once per interval boundary passed (aligned to multiples of 100, as Kafka Streams), never for late records',
    );
    t.same(output.values('out'), [], 'punctuator output waits for the commit');
    await task.commit();
    t.same(output.values('out'), ['1000', '1100', '1450']);
  },
);

t.test(
  'wall-clock punctuators fire on the clock, opening a transaction when none is open',
  async (t) => {
    const clock = { now: 10_000 };
    const fired: number[] = [];
    const { task, output } = harness(
      mapTopology(
        () => undefined,
        (ctx) => {
          ctx.schedule(1000, 'wall-clock', async (ts) => {
            fired.push(ts);
            await ctx.forward({ key: 'w', value: 'wall', timestamp: ts, headers: {} });
          });
        },
      ),
      {},
      clock,
    );
    await task.init();
    await task.punctuateWallClock(10_500);
    t.same(fired, []);
    await task.punctuateWallClock(11_000);
    t.same(fired, [11_000]);
    t.ok(output.inTransaction, 'the punctuator opened a transaction');
    clock.now = 11_200;
    t.ok(task.commitDue(clock.now), 'which is due for commit after the commit interval');
    await task.commit();
    t.same(output.values('out'), ['wall']);
  },
);

t.test('context.commit() commits right after the current record', async (t) => {
  const { task, output } = harness(
    mapTopology(async (ctx, r) => {
      await ctx.forward(r);
      if (r.value === 'now') ctx.commit();
    }),
  );
  await task.init();
  await task.process([rec(0, 'a'), rec(1, 'now'), rec(2, 'later')]);
  t.same(output.values('out'), ['a', 'now']);
  t.same(output.offsets, [{ topic: 'in', partition: 0, offset: 2n }]);
});

t.test('a failed send closes the task dirty and surfaces a classified error', async (t) => {
  const { task, output } = harness(
    mapTopology((ctx, r) => ctx.forward(r)),
    { maxBatchRecords: 1 },
  );
  await task.init();
  output.failSendWith = Object.assign(new Error('This server does not host this topic-partition'), {
    name: 'KafkaJSProtocolError',
    type: 'UNKNOWN_TOPIC_OR_PARTITION',
    code: 3,
    retriable: true,
  });
  await t.rejects(task.process([rec(0, 'a')]), { name: 'TaskCorruptedError' });
  t.equal(task.state, 'CLOSED');
});

t.test(
  'forwarding to an unknown child or reading an unconnected store is a clear error',
  async (t) => {
    const { task } = harness(mapTopology((ctx, r) => ctx.forward(r, 'nope')));
    await task.init();
    await t.rejects(task.process([rec(0, 'a')]), { message: /no child "nope" \(children: out\)/ });
    const second = harness(
      mapTopology((ctx) => {
        ctx.getStateStore('counts');
      }),
    );
    await second.task.init();
    await t.rejects(second.task.process([rec(0, 'a')]), {
      message: /no state store "counts" \(connected: none\)/,
    });
  },
);

// --- state stores driven by the task (issue: state stores in SQLite with changelogs) ---

function countTopology(persistent: boolean): Topology {
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
            counts = c.getStateStore<KeyValueStore<string, number>>('counts');
          },
          async process(r) {
            if (r.value === 'boom') throw new Error('boom');
            const n = (counts.get(r.key) ?? 0) + 1;
            counts.put(r.key, n);
            await ctx.forward({ ...r, value: String(n) });
          },
        };
      },
      'src',
    )
    .addStateStore(
      Stores.keyValue('counts', {
        keySerde: Serdes.string(),
        valueSerde: Serdes.int32(),
        persistent,
      }),
      'count',
    )
    .addSink(
      'out',
      { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'count',
    );
}

const keyed = (offset: number, key: string, value = 'x'): ConsumedRecord => ({
  ...rec(offset, value),
  key: Buffer.from(key),
});

t.test(
  'store changes go to the changelog in the same transaction as the output and offsets',
  async (t) => {
    const stateDir = t.testdir({});
    const { task, output } = harness(countTopology(true), { stateDir });
    await task.init();
    await task.process([keyed(0, 'a'), keyed(1, 'a'), keyed(2, 'b')]);
    t.same(output.values('app-counts-changelog'), [], 'nothing visible before the commit');
    await task.commit();
    t.same(output.values('out'), ['1', '2', '1']);
    t.equal(output.values('app-counts-changelog').length, 3, 'every change is logged');
    const changelog = output.committed.filter((c) => c.topic === 'app-counts-changelog');
    t.ok(
      changelog.every((c) => c.record.partition === 0),
      'to the task partition of the changelog',
    );
    t.same(
      changelog.map((c) => c.record.timestamp),
      [1000, 1001, 1002],
      'stamped with the record time',
    );
  },
);

t.test('a transaction aborted after store writes leaves none of them in the store', async (t) => {
  const stateDir = t.testdir({});
  const first = harness(countTopology(true), { stateDir });
  await first.task.init();
  await first.task.process([keyed(0, 'a')]);
  await first.task.commit();
  await t.rejects(first.task.process([keyed(1, 'a'), keyed(2, 'a', 'boom')]), {
    name: 'ProcessorError',
  });
  // A new task on the same state directory sees only committed state: a=1.
  const second = harness(countTopology(true), { stateDir });
  second.output.logs = first.output.logs;
  await second.task.init();
  t.equal(
    second.task.restoredRecords.get('counts'),
    0,
    'the checkpoint is current: nothing to replay',
  );
  await second.task.process([keyed(1, 'a')]);
  await second.task.commit();
  t.same(second.output.values('out'), ['1', '2'], 'the aborted increment is gone');
});

t.test(
  'a crash between the Kafka commit and the SQLite commit only replays the tail on restart',
  async (t) => {
    const stateDir = t.testdir({});
    const first = harness(countTopology(true), { stateDir });
    await first.task.init();
    await first.task.process(Array.from({ length: 50 }, (_, i) => keyed(i, `k${i % 5}`)));
    await first.task.commit();
    await first.task.process([keyed(50, 'k0'), keyed(51, 'k1'), keyed(52, 'k2')]);
    first.output.afterCommit = () => {
      throw new Error('crash after the Kafka commit');
    };
    await t.rejects(first.task.commit());
    const second = harness(countTopology(true), { stateDir });
    second.output.logs = first.output.logs;
    await second.task.init();
    t.equal(
      second.task.restoredRecords.get('counts'),
      3,
      'only the 3 changes of the last transaction are replayed, not 53',
    );
    await second.task.process([keyed(53, 'k0')]);
    await second.task.commit();
    t.same(second.output.values('out').slice(-1), ['12'], 'k0 = 11 committed + 1');
  },
);

t.test('a task on an empty state directory restores the whole changelog', async (t) => {
  const first = harness(countTopology(true), { stateDir: t.testdir({ one: {} }) + '/one' });
  await first.task.init();
  await first.task.process(Array.from({ length: 20 }, (_, i) => keyed(i, `k${i % 4}`)));
  await first.task.commit();
  const events: string[] = [];
  const second = harness(countTopology(true), { stateDir: t.testdir({ two: {} }) + '/two' });
  second.output.logs = first.output.logs;
  const restoring = {
    restoring: (e: { restored: number; total: number; done: boolean; rebuildReason?: string }) =>
      void events.push(
        `${e.restored}/${e.total}${e.done ? ' done' : ''}${e.rebuildReason ? ' rebuild' : ''}`,
      ),
  };
  Object.assign((second.task as unknown as { env: object }).env, restoring);
  await second.task.init();
  t.equal(second.task.restoredRecords.get('counts'), 20);
  t.same(
    events,
    ['0/20 rebuild', '20/20 rebuild', '20/20 done rebuild'],
    'progress is reported, with the reason for a full restore',
  );
  await second.task.process([keyed(20, 'k0')]);
  await second.task.commit();
  t.same(second.output.values('out').slice(-1), ['6']);
});

t.test('an in-memory store restores from the changelog start every time', async (t) => {
  const first = harness(countTopology(false));
  await first.task.init();
  await first.task.process([keyed(0, 'a'), keyed(1, 'a')]);
  await first.task.commit();
  const second = harness(countTopology(false));
  second.output.logs = first.output.logs;
  await second.task.init();
  t.equal(second.task.restoredRecords.get('counts'), 2);
  await second.task.process([keyed(2, 'a')]);
  await second.task.commit();
  t.same(second.output.values('out'), ['1', '2', '3']);
});
