// Windowed aggregations on the TopologyTestDriver: tumbling, hopping, sliding and session
// windows, out-of-order and late records, grace, session merges and suppression.
import t from 'tap';
import { Serdes } from '../../framework/index.ts';
import {
  EmitStrategy,
  SessionWindows,
  SlidingWindows,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
  WindowedSerdes,
  untilWindowCloses,
  type Windowed,
} from '../../dsl/index.ts';
import type { TopologyTestDriver } from '../../testkit/index.ts';
import { driverFor } from './support.ts';

const S = Serdes.string();
const strings = { keySerde: S, valueSerde: S };

/** `key@[start,end)=value` lines, for compact expectations. */
function windowed(
  driver: TopologyTestDriver,
  topic: string,
  keySerde: ReturnType<typeof WindowedSerdes.timeWindowed<string>>,
): string[] {
  return driver
    .createOutputTopic(topic, keySerde, Serdes.long())
    .readKeyValuesToList()
    .map(({ key, value }) => `${key!.key}@${key!.window.start}-${key!.window.end}=${value}`);
}

t.test(
  'tumbling windows count per key and window; out-of-order records within grace count, later ones are dropped',
  async (t) => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', strings)
      .groupByKey()
      .windowedBy(TimeWindows.ofSize(10).grace(5))
      .count({ storeName: 'counts' })
      .toStream()
      .to('out');
    const { driver, log } = await driverFor(t, builder.build());
    const pipe = driver.createInputTopic('in', S, S);
    await pipe.pipeInput('a', 'x', 1);
    await pipe.pipeInput('a', 'x', 12);
    await pipe.pipeInput('b', 'x', 3); // out of order, window [0,10) still open: 12 − 5 < 10
    await pipe.pipeInput('a', 'x', 16); // stream time 16: [0,10) closes (10 <= 16 − 5 = 11)
    await pipe.pipeInput('a', 'x', 9); // late: dropped
    const keySerde = WindowedSerdes.timeWindowed(S, 10);
    t.same(windowed(driver, 'out', keySerde), ['a@0-10=1', 'a@10-20=1', 'b@0-10=1', 'a@10-20=2']);
    t.ok(
      log.some((l) => /^debug .*late record: window closed/.test(l)),
      'the late record is logged at debug as dropped',
    );
    const store = driver.getTimestampedWindowStore<string, number>('counts');
    t.same(store.get('a', 0), { value: 1, timestamp: 1 }, 'the closed window kept its count');
    t.same(store.get('a', 10), { value: 2, timestamp: 16 });
  },
);

t.test('hopping windows: a record counts in every window it falls in', async (t) => {
  const builder = new StreamsBuilder();
  builder
    .stream('in', strings)
    .groupByKey()
    .windowedBy(TimeWindows.ofSize(10).advanceBy(5))
    .count()
    .toStream()
    .to('out');
  const { driver } = await driverFor(t, builder.build());
  const pipe = driver.createInputTopic('in', S, S);
  await pipe.pipeInput('a', 'x', 7);
  await pipe.pipeInput('a', 'x', 12);
  t.same(windowed(driver, 'out', WindowedSerdes.timeWindowed(S, 10)), [
    'a@0-10=1',
    'a@5-15=1',
    'a@5-15=2',
    'a@10-20=1',
  ]);
});

t.test(
  'suppress(untilWindowCloses) emits one final result per window when stream time passes end + grace',
  async (t) => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', strings)
      .groupByKey()
      .windowedBy(TimeWindows.ofSize(10).grace(5))
      .count()
      .suppress(untilWindowCloses)
      .toStream()
      .to('out');
    const { driver } = await driverFor(t, builder.build());
    const pipe = driver.createInputTopic('in', S, S);
    const out = driver.createOutputTopic('out', WindowedSerdes.timeWindowed(S, 10), Serdes.long());
    await pipe.pipeInput('a', 'x', 1);
    await pipe.pipeInput('b', 'x', 2);
    await pipe.pipeInput('a', 'x', 8);
    await pipe.pipeInput('a', 'x', 14);
    t.ok(out.isEmpty(), 'nothing before [0,10) closes at stream time 15');
    await pipe.pipeInput('b', 'x', 11); // out of order: stream time stays 14
    t.ok(out.isEmpty());
    await pipe.pipeInput('c', 'x', 15);
    const first = out
      .readKeyValuesToList()
      .map(({ key, value }) => `${key!.key}@${key!.window.start}=${value}`);
    t.same(
      first,
      ['a@0=2', 'b@0=1'],
      'final counts of [0,10), once each, in window-end then key order',
    );
    await pipe.pipeInput('a', 'x', 3); // late for [0,10): dropped, emits nothing
    await pipe.pipeInput('c', 'x', 40);
    const second = out
      .readRecordsToList()
      .map(
        ({ key, value, timestamp }) => `${key!.key}@${key!.window.start}=${value} t${timestamp}`,
      );
    t.same(
      second,
      ['a@10=1 t14', 'b@10=1 t11', 'c@10=1 t15'],
      'each final result carries its window’s latest record time',
    );
  },
);

t.test(
  'emitStrategy(onWindowClose) is suppress(untilWindowCloses) written on the windowed stream',
  async (t) => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { keySerde: S, valueSerde: Serdes.json<number>() })
      .groupByKey()
      .windowedBy(TimeWindows.ofSize(10))
      .emitStrategy(EmitStrategy.onWindowClose())
      .reduce((a, b) => a + b, { valueSerde: Serdes.json<number>() })
      .toStream()
      .to('out');
    const { driver } = await driverFor(t, builder.build());
    const pipe = driver.createInputTopic('in', S, Serdes.json<number>());
    for (const [v, ts] of [
      [1, 1],
      [2, 5],
      [4, 10],
      [8, 25],
    ] as const)
      await pipe.pipeInput('k', v, ts);
    t.same(
      driver
        .createOutputTopic('out', WindowedSerdes.timeWindowed(S, 10), Serdes.json<number>())
        .readKeyValuesToList()
        .map(({ key, value }) => [key!.window.start, value]),
      [
        [0, 3],
        [10, 4],
      ],
    );
  },
);

t.test(
  'sliding windows: one window per distinct set of records within the time difference (KIP-450)',
  async (t) => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', strings)
      .groupByKey()
      .windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10))
      .count({ storeName: 'sliding' })
      .toStream()
      .to('out');
    const { driver } = await driverFor(t, builder.build());
    const pipe = driver.createInputTopic('in', S, S);
    await pipe.pipeInput('a', 'x', 10);
    await pipe.pipeInput('a', 'x', 15);
    await pipe.pipeInput('a', 'x', 30);
    t.same(windowed(driver, 'out', WindowedSerdes.timeWindowed(S, 10)), [
      'a@0-10=1',
      'a@11-21=1',
      'a@5-15=2',
      'a@20-30=1',
    ]);
    const all = driver
      .getTimestampedWindowStore<string, number>('sliding')
      .fetch('a', 0, 100)
      .map((w) => `${w.windowStart}:${w.value.value}`);
    t.same(
      all,
      ['5:2', '11:1', '20:1'],
      'the store expired [0,10] past its retention (2 × 10 ms + grace)',
    );
  },
);

t.test(
  'sliding windows: an out-of-order record updates the windows it falls in and creates its own',
  async (t) => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', strings)
      .groupByKey()
      .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(10, 20))
      .count({ storeName: 'sliding' })
      .toStream()
      .to('out');
    const { driver, log } = await driverFor(t, builder.build());
    const pipe = driver.createInputTopic('in', S, S);
    await pipe.pipeInput('e', 'x', 5); // early (< time difference): the [0,10] window
    await pipe.pipeInput('e', 'x', 3); // and its right window [4,14] = {5}
    await pipe.pipeInput('a', 'x', 20);
    await pipe.pipeInput('a', 'x', 40);
    await pipe.pipeInput('a', 'x', 25); // out of order, within grace
    await pipe.pipeInput('a', 'x', 5); // late: [0,10] ended before 40 − 20
    const store = driver.getTimestampedWindowStore<string, number>('sliding');
    const windows = (key: string) =>
      store
        .fetch(key, 0, 100)
        .map((w) => `[${w.windowStart},${w.windowStart + 10}]=${w.value.value}`);
    // Every distinct set of records within 10 ms: {20}, {20,25}, {25}, {40}.
    t.same(windows('a'), ['[10,20]=1', '[15,25]=2', '[21,31]=1', '[30,40]=1']);
    t.same(windows('e'), ['[0,10]=2', '[4,14]=1']);
    t.ok(
      log.some((l) => /late record/.test(l)),
      'the late record is dropped',
    );
  },
);

t.test(
  'session windows merge records within the inactivity gap; merged sessions are retracted',
  async (t) => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', strings)
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 20))
      .count({ storeName: 'sessions' })
      .toStream()
      .to('out');
    const { driver, log } = await driverFor(t, builder.build());
    const pipe = driver.createInputTopic('in', S, S);
    await pipe.pipeInput('a', 'x', 0);
    await pipe.pipeInput('a', 'x', 5);
    await pipe.pipeInput('a', 'x', 30);
    await pipe.pipeInput('a', 'x', 18); // its own session: 5 + 10 < 18, 18 + 10 < 30
    await pipe.pipeInput('a', 'x', 25); // bridges [18,18] and [30,30]
    const sessions = driver.getSessionStore<string, number>('sessions').fetch('a');
    t.same(
      sessions.map((s) => [s.start, s.end, s.value]),
      [
        [0, 5, 2],
        [18, 30, 3],
      ],
    );
    await pipe.pipeInput('b', 'x', 100);
    await pipe.pipeInput('a', 'x', 50); // stream time 100: sessions ending before 100 − 20 − 10 are closed
    const out = driver
      .createOutputTopic('out', WindowedSerdes.sessionWindowed(S), Serdes.long())
      .readKeyValuesToList()
      .map(({ key, value }) => `${key!.key}@${key!.window.start}-${key!.window.end}=${value}`);
    t.same(out, [
      'a@0-0=1',
      'a@0-0=null',
      'a@0-5=2',
      'a@30-30=1',
      'a@18-18=1',
      'a@18-18=null',
      'a@30-30=null',
      'a@18-30=3',
      'b@100-100=1',
    ]);
    t.ok(
      log.some((l) => /late record: session closed/.test(l)),
      'the late record is dropped and logged',
    );
  },
);

t.test(
  'suppressed session windows emit each final session once and drop merged-away ones',
  async (t) => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', strings)
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(10, 5))
      .count()
      .suppress(Suppressed.untilWindowCloses({ name: 'final-sessions', storeKind: 'memory' }))
      .toStream()
      .to('out');
    const topology = builder.build();
    t.match(
      topology.describe().toString(),
      /Processor: final-sessions \(stores: \[final-sessions-store\]\)/,
    );
    const { driver } = await driverFor(t, topology);
    const pipe = driver.createInputTopic('in', S, S);
    await pipe.pipeInput('a', 'x', 0);
    await pipe.pipeInput('a', 'x', 8);
    await pipe.pipeInput('a', 'x', 16); // [0,16]
    await pipe.pipeInput('b', 'x', 31); // 16 < 31 − 15: not yet (ends are inclusive)
    const out = driver.createOutputTopic('out', WindowedSerdes.sessionWindowed(S), Serdes.long());
    t.ok(out.isEmpty());
    await pipe.pipeInput('b', 'x', 32);
    t.same(
      out
        .readKeyValuesToList()
        .map(({ key, value }) => `${key!.key}@${key!.window.start}-${key!.window.end}=${value}`),
      ['a@0-16=3'],
    );
  },
);

t.test('windowed retention must cover size + grace; suppress needs a windowed table', async (t) => {
  const builder = new StreamsBuilder();
  const grouped = builder.stream('in', strings).groupByKey();
  t.throws(
    () => grouped.windowedBy(TimeWindows.ofSize(10).grace(5)).count({ retentionMs: 12 }),
    /retentionMs \(12\) must be ≥ window size \+ grace \(15 ms\)/,
  );
  t.throws(
    () => TimeWindows.ofSize(10).advanceBy(11),
    /advance \(11 ms\) must not exceed the window size/,
  );
  t.throws(() => TimeWindows.ofSize(0), /size must be an integer ≥ 1 ms/);
  const table = builder.stream('in2', strings).groupByKey().count();
  const windowedLike = table as unknown as Parameters<typeof table.suppress>[0] extends never
    ? never
    : { suppress: (s: Suppressed) => unknown };
  t.throws(
    () => windowedLike.suppress(untilWindowCloses),
    /suppress\(untilWindowCloses\) needs a windowed table/,
  );
});

t.test(
  'windowed keys round-trip through WindowedSerdes, byte-compatible with Kafka Streams',
  async (t) => {
    const time = WindowedSerdes.timeWindowed(S, 60_000);
    const key: Windowed<string> = { key: 'k', window: { start: 120_000, end: 180_000 } };
    const bytes = time.serialize('t', key)!;
    t.same(
      [...bytes],
      [0x6b, 0, 0, 0, 0, 0, 1, 0xd4, 0xc0],
      'key bytes then the start as int64 BE',
    );
    t.same(time.deserialize('t', bytes), key);
    const session = WindowedSerdes.sessionWindowed(S);
    const sessionKey: Windowed<string> = { key: 'k', window: { start: 1, end: 2 } };
    t.same(
      [...session.serialize('t', sessionKey)!].slice(1),
      [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1],
      'end then start',
    );
    t.same(session.deserialize('t', session.serialize('t', sessionKey)), sessionKey);
  },
);

t.test(
  'a rebuilt task re-learns stream time and its suppressed windows from the stores: late stays late, each final result once',
  async (t) => {
    for (const storeKind of ['sqlite', 'memory'] as const) {
      const builder = new StreamsBuilder();
      builder
        .stream('in', strings)
        .peek((_k, v) => {
          if (v === 'boom') throw new Error('boom');
        })
        .groupByKey()
        .windowedBy(TimeWindows.ofSize(10))
        .count({ storeKind })
        .suppress(Suppressed.untilWindowCloses({ storeKind }))
        .toStream()
        .to('out');
      const { driver } = await driverFor(t, builder.build());
      const pipe = driver.createInputTopic('in', S, S);
      await pipe.pipeInput('a', 'x', 1);
      await pipe.pipeInput('a', 'x', 12); // closes [0,10): a@0=1
      await pipe.pipeInput('a', 'x', 15);
      await t.rejects(pipe.pipeInput('a', 'boom', 16), { name: 'ProcessorError' });
      await pipe.pipeInput('a', 'x', 9); // late for stream time 15, also after the rebuild
      await pipe.pipeInput('a', 'x', 30); // closes [10,20): a@10=2
      t.same(
        windowed(driver, 'out', WindowedSerdes.timeWindowed(S, 10)),
        ['a@0-10=1', 'a@10-20=2'],
        `${storeKind}: each window's final result once, the late record dropped`,
      );
    }
  },
);
