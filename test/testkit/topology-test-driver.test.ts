// The TopologyTestDriver: the production StreamTask on an in-memory Kafka,
// driven record by record, without a broker.
import { existsSync, readdirSync } from 'node:fs';
import t, { type Test } from 'tap';
import {
  Serdes,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record as StreamRecord,
} from '../../framework/index.ts';
import { Stores, type KeyValueStore, type WindowStore } from '../../stores/index.ts';
import {
  TopologyTestDriver,
  UnknownTopicError,
  type TopologyTestDriverOptions,
} from '../../testkit/index.ts';

/** in → p → out, strings, with `process` as the processor body. */
function mapTopology(
  process: (ctx: ProcessorContext<string, string>, r: StreamRecord<string, string>) => unknown,
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
          process: async (r) => void (await process(ctx, r)),
        };
      },
      'src',
    )
    .addSink('out', { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'p');
}

/** A per-key count in a key-value store; a value of "boom" throws after the store write. */
function countTopology(persistent: boolean): Topology {
  return new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'count',
      (): Processor<string, string, string, number> => {
        let ctx!: ProcessorContext<string, number>;
        let counts!: KeyValueStore<string, number>;
        return {
          init(c) {
            ctx = c;
            counts = c.getStateStore<KeyValueStore<string, number>>('counts');
          },
          async process(r) {
            const n = (counts.get(r.key) ?? 0) + 1;
            counts.put(r.key, n);
            if (r.value === 'boom') throw new Error('boom');
            await ctx.forward({ ...r, value: n });
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
      { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.int32() },
      'count',
    );
}

const echo = (): Topology => mapTopology((ctx, r) => ctx.forward(r));

function driverFor(
  t: Test,
  topology: Topology,
  options?: TopologyTestDriverOptions,
): TopologyTestDriver {
  const driver = new TopologyTestDriver(topology, options);
  t.teardown(() => driver.close());
  return driver;
}

t.test('a piped record is processed and its output is readable at once', async (t) => {
  const driver = driverFor(
    t,
    mapTopology((ctx, r) => ctx.forward({ ...r, value: r.value.toUpperCase() })),
  );
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
  t.ok(output.isEmpty());
  await input.pipeInput('k', 'hello');
  await input.pipeInput('k2', 'world');
  t.equal(output.getQueueSize(), 2);
  t.same(output.readKeyValue(), { key: 'k', value: 'HELLO' });
  t.equal(output.readValue(), 'WORLD');
  t.ok(output.isEmpty());
  t.throws(() => output.readRecord(), { message: /topic out is empty/ });
});

t.test('pipeRecordList and readKeyValuesToList keep the order; filters drop records', async (t) => {
  const driver = driverFor(
    t,
    mapTopology(async (ctx, r) => {
      if (Number(r.value) % 2 === 0) await ctx.forward({ ...r, value: `${r.value}!` });
    }),
  );
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
  await input.pipeRecordList(
    Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: String(i) })),
  );
  t.same(output.readKeyValuesToList(), [
    { key: 'k0', value: '0!' },
    { key: 'k2', value: '2!' },
    { key: 'k4', value: '4!' },
  ]);
});

t.test('headers and timestamps flow from input to output as in production', async (t) => {
  const driver = driverFor(
    t,
    mapTopology((ctx, r) =>
      ctx.forward({ ...r, headers: { ...r.headers, seen: 'yes' }, timestamp: r.timestamp + 1 }),
    ),
  );
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
  await input.pipeInput('k', 'v', 42_000, { trace: 't-1', raw: Buffer.from([1, 2]) });
  const record = output.readRecord();
  t.equal(record.timestamp, 42_001);
  t.same(
    record.headers,
    { trace: Buffer.from('t-1'), raw: Buffer.from([1, 2]), seen: Buffer.from('yes') },
    'header values are bytes, as a consumer reads them',
  );
  t.same([record.key, record.value], ['k', 'v']);
});

t.test(
  'records without a timestamp take the input topic time, which auto-advances and advanceTime moves',
  async (t) => {
    const seen: number[] = [];
    const driver = driverFor(
      t,
      mapTopology((ctx, r) => {
        seen.push(ctx.timestamp);
        return ctx.forward(r);
      }),
      { initialWallClockTime: new Date(5_000) },
    );
    const defaults = driver.createInputTopic('in', Serdes.string(), Serdes.string());
    await defaults.pipeInput('a', '1');
    t.same(seen, [5_000], 'the default start is the driver’s initial wall-clock time');
    const input = driver.createInputTopic('in', Serdes.string(), Serdes.string(), {
      startTimestamp: 1_000,
      autoAdvanceMs: 10,
    });
    await input.pipeInput('a', '1');
    await input.pipeInput('a', '2');
    input.advanceTime(500);
    await input.pipeInput('a', '3');
    await input.pipeInput('a', '4', 7); // an explicit timestamp does not move the topic time
    await input.pipeInput('a', '5');
    t.same(seen, [5_000, 1_000, 1_010, 1_520, 7, 1_530]);
    t.equal(input.currentTime, 1_540);
    t.throws(() => input.advanceTime(-1), RangeError);
  },
);

t.test(
  'stream-time punctuators fire on the first record, then at aligned interval boundaries',
  async (t) => {
    const fired: number[] = [];
    const driver = driverFor(
      t,
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
    const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
    const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
    for (const ts of [1_000, 1_050, 1_100, 1_099, 1_450]) await input.pipeInput('k', 'v', ts);
    t.same(
      fired,
      [1_000, 1_100, 1_450],
      'on the first record, then once per multiple of 100 passed, never for a late record',
    );
    t.same(
      output.readValuesToList(),
      ['1000', '1100', '1450'],
      'punctuator output is committed like record output',
    );
    await driver.advanceWallClockTime(10_000);
    t.same(fired, [1_000, 1_100, 1_450], 'wall-clock time does not move stream time');
  },
);

t.test('wall-clock punctuators fire only when the test advances the mocked clock', async (t) => {
  const fired: number[] = [];
  const driver = driverFor(
    t,
    mapTopology(
      () => undefined,
      (ctx) => {
        ctx.schedule(1_000, 'wall-clock', async (ts) => {
          fired.push(ts);
          await ctx.forward({ key: 'w', value: String(ts), timestamp: ts, headers: {} });
        });
      },
    ),
    { initialWallClockTime: 10_000 },
  );
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
  await input.pipeInput('k', 'v', 99_999_999);
  t.same(fired, [], 'record timestamps do not move the wall clock');
  await driver.advanceWallClockTime(999);
  t.same(fired, []);
  await driver.advanceWallClockTime(1);
  t.same(fired, [11_000]);
  await driver.advanceWallClockTime(5_500);
  t.same(fired, [11_000, 16_500], 'once for the current time, however many intervals passed');
  t.equal(driver.wallClockTime, 16_500);
  t.same(output.readValuesToList(), ['11000', '16500']);
  await t.rejects(driver.advanceWallClockTime(-5), RangeError);
});

t.test('key-value stores can be inspected, in memory and in SQLite', async (t) => {
  for (const persistent of [false, true]) {
    t.test(persistent ? 'sqlite' : 'memory', async (t) => {
      const driver = driverFor(t, countTopology(persistent));
      const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
      const output = driver.createOutputTopic('out', Serdes.string(), Serdes.int32());
      await input.pipeKeyValueList(['a', 'b', 'a', 'c', 'a'].map((key) => ({ key, value: 'x' })));
      const counts = driver.getKeyValueStore<string, number>('counts');
      t.equal(counts.persistent, persistent);
      t.same(counts.all(), [
        { key: 'a', value: 3 },
        { key: 'b', value: 1 },
        { key: 'c', value: 1 },
      ]);
      t.same([...driver.getAllStateStores().keys()], ['counts']);
      t.same(
        output.readKeyValuesToMap(),
        new Map([
          ['a', 3],
          ['b', 1],
          ['c', 1],
        ]),
        'readKeyValuesToMap keeps the latest value per key',
      );
      const changelog = driver.createOutputTopic(
        'topology-test-driver-counts-changelog',
        Serdes.string(),
        Serdes.int32(),
      );
      t.equal(changelog.getQueueSize(), 5, 'every change went to the changelog, committed');
      t.throws(() => driver.getWindowStore('counts'), { message: /not a window store/ });
      t.throws(() => driver.getKeyValueStore('nope'), {
        message: /no state store "nope"; it has: counts/,
      });
    });
  }
});

t.test('window stores can be inspected', async (t) => {
  const topology = new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.int32() })
    .addProcessor(
      'sum',
      (): Processor<string, number, never, never> => {
        let sums!: WindowStore<string, number>;
        return {
          init: (c) => void (sums = c.getStateStore<WindowStore<string, number>>('sums')),
          process(r) {
            const start = Math.floor(r.timestamp / 1_000) * 1_000;
            sums.put(r.key, (sums.get(r.key, start) ?? 0) + r.value, start);
          },
        };
      },
      'src',
    )
    .addStateStore(
      Stores.window('sums', {
        keySerde: Serdes.string(),
        valueSerde: Serdes.int32(),
        windowSizeMs: 1_000,
        retentionMs: 10_000,
        persistent: false,
      }),
      'sum',
    );
  const driver = driverFor(t, topology);
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.int32());
  await input.pipeInput('a', 1, 100);
  await input.pipeInput('a', 2, 900);
  await input.pipeInput('b', 5, 1_500);
  await input.pipeInput('a', 4, 1_999);
  const sums = driver.getWindowStore<string, number>('sums');
  t.same(
    sums.all().map((w) => [w.key, w.windowStart, w.value]),
    [
      ['a', 0, 3],
      ['a', 1_000, 4],
      ['b', 1_000, 5],
    ],
  );
  t.same(
    sums.fetch('a', 0, 5_000).map((w) => w.value),
    [3, 4],
  );
  t.throws(() => driver.getKeyValueStore('sums'), { message: /not a key-value store/ });
});

t.test(
  'a processor exception reaches the test with topic, partition and offset; the record leaves no trace and the driver goes on',
  async (t) => {
    for (const persistent of [false, true]) {
      t.test(persistent ? 'sqlite' : 'memory', async (t) => {
        const driver = driverFor(t, countTopology(persistent));
        const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
        const output = driver.createOutputTopic('out', Serdes.string(), Serdes.int32());
        await input.pipeInput('a', 'x');
        await input.pipeInput('a', 'x');
        await t.rejects(input.pipeInput('a', 'boom'), {
          name: 'ProcessorError',
          processorName: 'count',
          topic: 'in',
          partition: 0,
          offset: '2',
          message: /Processor "count" failed: boom \[task 0_0, topic in, partition 0, offset 2\]/,
        });
        t.equal(
          driver.getKeyValueStore<string, number>('counts').get('a'),
          2,
          'the failed record’s store write was rolled back (the rebuilt task restored committed state)',
        );
        await input.pipeInput('a', 'x');
        t.same(
          output.readValuesToList(),
          [1, 2, 3],
          'no output from the failed record, none lost after it',
        );
      });
    }
  },
);

t.test(
  'a failing punctuator rejects advanceWallClockTime and rolls its transaction back',
  async (t) => {
    let fail = true;
    const driver = driverFor(
      t,
      mapTopology(
        () => undefined,
        (ctx) => {
          ctx.schedule(10, 'wall-clock', async (ts) => {
            await ctx.forward({ key: 'w', value: String(ts), timestamp: ts, headers: {} });
            if (fail) throw new Error('tick failed');
          });
        },
      ),
    );
    const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
    await t.rejects(driver.advanceWallClockTime(10), {
      name: 'ProcessorError',
      message: /tick failed/,
    });
    t.ok(output.isEmpty(), 'its forwarded record was aborted');
    fail = false;
    await driver.advanceWallClockTime(20); // the rebuilt task scheduled again at t=10: next at 20
    t.same(output.readValuesToList(), ['30']);
  },
);

t.test('unknown topics are clear errors naming the topics the topology knows', async (t) => {
  const driver = driverFor(t, countTopology(false));
  t.throws(() => driver.createInputTopic('nope', Serdes.string(), Serdes.string()), {
    name: 'UnknownTopicError',
    message: 'The topology does not read topic "nope"; it reads: in [topic nope]',
  });
  const error = t.throws(() => driver.createOutputTopic('in', Serdes.string(), Serdes.string()));
  t.ok(error instanceof UnknownTopicError);
  t.match(
    (error as Error).message,
    /does not write topic "in"; it writes: out, topology-test-driver-counts-changelog/,
  );
  t.same(driver.inputTopics, ['in']);
});

t.test('deserialization handlers behave as in production', async (t) => {
  const jsonTopology = (): Topology =>
    new Topology()
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
      .addSink(
        'out',
        { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
        'p',
      );

  t.test(
    'fail (default): the error names topic, partition and offset; later records go on',
    async (t) => {
      const driver = driverFor(t, jsonTopology());
      const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
      const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
      await input.pipeInput('k', '{"n":1}');
      await t.rejects(input.pipeInput('k', '{oops'), {
        name: 'DeserializationError',
        message: /invalid JSON.*\[task 0_0, topic in, partition 0, offset 1\]/,
      });
      await input.pipeInput('k', '{"n":3}');
      t.same(output.readValuesToList(), ['1', '3']);
    },
  );

  t.test('skip: logged and skipped', async (t) => {
    const logs: string[] = [];
    const driver = driverFor(t, jsonTopology(), {
      deserializationErrorHandler: 'skip',
      log: (level, message) => void logs.push(`${level}: ${message}`),
    });
    const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
    const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
    await input.pipeRecordList([{ value: '{"n":1}' }, { value: 'nope' }, { value: '{"n":3}' }]);
    t.same(output.readValuesToList(), ['1', '3']);
    t.match(logs.join('\n'), /warn: skipping a record that cannot be deserialized .*in-0@1/);
  });

  t.test(
    'dead letter: the raw record with its origin, readable like any output topic',
    async (t) => {
      const driver = driverFor(t, jsonTopology(), {
        deserializationErrorHandler: { deadLetterTopic: 'dlq' },
      });
      const input = driver.createInputTopic('in', Serdes.string(), Serdes.bytes());
      const dlq = driver.createOutputTopic('dlq', Serdes.string(), Serdes.bytes());
      await input.pipeInput('k', Buffer.from([0xff]), 1_234, { trace: 'x' });
      const dead = dlq.readRecord();
      t.same(dead.value, Buffer.from([0xff]));
      t.equal(dead.key, 'k');
      t.equal(dead.timestamp, 1_234);
      t.equal(dead.headers['streamtx.offset']?.toString(), '0');
      t.equal(dead.headers['streamtx.topic']?.toString(), 'in');
      t.equal(dead.headers.trace?.toString(), 'x');
      t.ok(driver.createOutputTopic('out', Serdes.string(), Serdes.string()).isEmpty());
    },
  );
});

t.test(
  'a topic written by one sub-topology and read by another is processed there too',
  async (t) => {
    const topology = new Topology()
      .addSource('a', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .addSink(
        'to-mid',
        { topic: 'mid', keySerde: Serdes.string(), valueSerde: Serdes.string() },
        'a',
      )
      .addSource('b', { topics: ['mid'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .addProcessor(
        'tag',
        (): Processor<string, string, string, string> => {
          let ctx!: ProcessorContext<string, string>;
          return {
            init: (c) => void (ctx = c),
            process: (r) => ctx.forward({ ...r, value: `${ctx.taskId}:${r.value}` }),
          };
        },
        'b',
      )
      .addSink(
        'out',
        { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
        'tag',
      );
    const driver = driverFor(t, topology);
    const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
    await input.pipeInput('k', 'v1');
    await input.pipeInput('k', 'v2');
    t.same(driver.createOutputTopic('out', Serdes.string(), Serdes.string()).readValuesToList(), [
      '1_0:v1',
      '1_0:v2',
    ]);
    t.same(
      driver.createOutputTopic('mid', Serdes.string(), Serdes.string()).readValuesToList(),
      ['v1', 'v2'],
      'the intermediate topic is readable too',
    );
  },
);

t.test(
  'drivers share nothing: same application id, persistent stores, separate state',
  async (t) => {
    const one = driverFor(t, countTopology(true));
    const two = driverFor(t, countTopology(true));
    await one.createInputTopic('in', Serdes.string(), Serdes.string()).pipeInput('a', 'x');
    await one.createInputTopic('in', Serdes.string(), Serdes.string()).pipeInput('a', 'x');
    await two.createInputTopic('in', Serdes.string(), Serdes.string()).pipeInput('a', 'x');
    t.equal(one.getKeyValueStore<string, number>('counts').get('a'), 2);
    t.equal(two.getKeyValueStore<string, number>('counts').get('a'), 1);
  },
);

t.test(
  'close() closes processors and stores, removes the state directory, and is final',
  async (t) => {
    const parent = t.testdir({});
    let closed = 0;
    const topology = countTopology(true).addProcessor(
      'closer',
      () => ({ process() {}, close: () => void closed++ }),
      'src',
    );
    const driver = new TopologyTestDriver(topology, { stateDir: parent });
    await driver.createInputTopic('in', Serdes.string(), Serdes.string()).pipeInput('a', 'x');
    t.equal(readdirSync(parent).length, 1, 'the driver’s own directory');
    await driver.close();
    await driver.close();
    t.equal(closed, 1);
    t.same(readdirSync(parent), [], 'removed');
    t.notOk(existsSync(`${parent}/x`));
    t.throws(() => driver.createInputTopic('in', Serdes.string(), Serdes.string()), {
      message: /closed/,
    });
    t.throws(() => driver.getKeyValueStore('counts'), { message: /closed/ });
  },
);

t.test('a processor whose init() throws fails the driver clearly', async (t) => {
  const topology = mapTopology(
    () => undefined,
    () => {
      throw new Error('cannot init');
    },
  );
  const driver = driverFor(t, topology);
  await t.rejects(driver.ready(), { message: /cannot init/ });
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  await t.rejects(input.pipeInput('k', 'v'), { message: /cannot init/ });
  t.throws(() => driver.getAllStateStores(), { message: /failed/ });
});

t.test('stores are readable once the driver has started', async (t) => {
  const driver = driverFor(t, countTopology(false));
  t.throws(() => driver.getKeyValueStore('counts'), {
    message: /still starting: await driver.ready\(\)/,
  });
  await driver.ready();
  t.equal(driver.getKeyValueStore<string, number>('counts').approximateNumEntries(), 0);
});

t.test('unawaited pipes still run in call order', async (t) => {
  const driver = driverFor(t, echo());
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  const pipes = ['1', '2', '3'].map((v) => input.pipeInput('k', v));
  await Promise.all(pipes);
  t.same(driver.createOutputTopic('out', Serdes.string(), Serdes.string()).readValuesToList(), [
    '1',
    '2',
    '3',
  ]);
});

t.test('a sink with a topic extractor: its output topics can be read', async (t) => {
  const topology = new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addSink(
      'routed',
      {
        topic: (r) => `out-${String(r.key)}`,
        keySerde: Serdes.string(),
        valueSerde: Serdes.string(),
      },
      'src',
    );
  const driver = new TopologyTestDriver(topology);
  t.teardown(() => driver.close());
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  await input.pipeInput('a', '1');
  await input.pipeInput('b', '2');
  await input.pipeInput('a', '3');
  t.same(driver.createOutputTopic('out-a', Serdes.string(), Serdes.string()).readValuesToList(), [
    '1',
    '3',
  ]);
  t.same(driver.createOutputTopic('out-b', Serdes.string(), Serdes.string()).readValuesToList(), [
    '2',
  ]);
});

t.test(
  'a global store is filled as soon as a record is piped to its topic, and every processor reads it unconnected',
  async (t) => {
    const S = Serdes.string();
    const topology = new Topology()
      .addGlobalStore(
        Stores.keyValue('names', { keySerde: S, valueSerde: S, persistent: false, logging: false }),
        {
          topic: 'names',
          keySerde: S,
          valueSerde: S,
          processor: (): Processor<string, string, never, never> => {
            let store!: KeyValueStore<string, string>;
            return {
              init(ctx) {
                store = ctx.getStateStore('names');
              },
              process(r) {
                store.put(r.key, r.value);
              },
            };
          },
        },
      )
      .addSource('src', { topics: ['in'], keySerde: S, valueSerde: S })
      .addProcessor(
        'greet',
        (): Processor<string, string, string, string> => {
          let ctx!: ProcessorContext<string, string>;
          let names!: KeyValueStore<string, string>;
          return {
            init(c) {
              ctx = c;
              names = c.getStateStore('names');
            },
            process(r) {
              void ctx.forward({ ...r, value: `${r.value} ${names.get(r.key) ?? '?'}` });
            },
          };
        },
        'src',
      )
      .addSink('out', { topic: 'out', keySerde: S, valueSerde: S }, 'greet');
    const driver = driverFor(t, topology);
    t.same(driver.inputTopics, ['in', 'names']);
    const names = driver.createInputTopic('names', S, S);
    const input = driver.createInputTopic('in', S, S);
    const output = driver.createOutputTopic('out', S, S);
    await input.pipeInput('u1', 'hello');
    await names.pipeInput('u1', 'ann');
    await input.pipeInput('u1', 'hi');
    t.same(output.readValuesToList(), ['hello ?', 'hi ann']);
    t.equal(driver.getKeyValueStore<string, string>('names').get('u1'), 'ann');
    t.ok(driver.getAllStateStores().has('names'));
  },
);
