// forward() cannot be misused (framework/runtime/processor-context.ts): an
// un-awaited forward behaves like an awaited one, a forward after process()
// returned fails the task with an error naming the processor, a downstream
// failure fails the record even if the processor swallowed it, and records
// forwarded without headers or a timestamp get defaults.
import t, { type Test } from 'tap';
import {
  Serdes,
  Topology,
  type Processor,
  type ProcessorContext,
  type Record as StreamRecord,
} from '../../../framework/index.ts';
import { Stores, type KeyValueStore } from '../../../stores/index.ts';
import { TopologyTestDriver } from '../../../testkit/index.ts';

type Body = (
  ctx: ProcessorContext<string, string>,
  r: StreamRecord<string, string>,
) => void | Promise<void>;

function pipeline(first: Body, second?: Body): Topology {
  const proc = (body: Body) => (): Processor<string, string, string, string> => {
    let ctx!: ProcessorContext<string, string>;
    return { init: (c) => void (ctx = c), process: (r) => body(ctx, r) };
  };
  const topology = new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor('first', proc(first), 'src');
  if (second) topology.addProcessor('second', proc(second), 'first');
  return topology.addSink(
    'out',
    { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
    second ? 'second' : 'first',
  );
}

function open(
  t: Test,
  topology: Topology,
): {
  driver: TopologyTestDriver;
  pipe: (...values: string[]) => Promise<void>;
  out: () => string[];
} {
  const driver = new TopologyTestDriver(topology);
  t.teardown(() => driver.close());
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
  return {
    driver,
    pipe: async (...values) => {
      for (const v of values) await input.pipeInput('k', v, 1_000);
    },
    out: () => output.readValuesToList().map(String),
  };
}

t.test('an un-awaited forward() is processed as if awaited, in order', async (t) => {
  const { pipe, out } = open(
    t,
    pipeline(
      (ctx, r) => {
        // The new user's mistake: no await, and several forwards in a row.
        void ctx.forward({ ...r, value: `${r.value}.1` });
        void ctx.forward({ ...r, value: `${r.value}.2` });
      },
      async (ctx, r) => {
        // An asynchronous child that takes longer for the first forward: without ordering,
        // the second would overtake it.
        if (r.value.endsWith('.1')) await new Promise((resolve) => setImmediate(resolve));
        await ctx.forward({ ...r, value: r.value.toUpperCase() });
      },
    ),
  );
  await pipe('a', 'b');
  t.same(out(), ['A.1', 'A.2', 'B.1', 'B.2'], 'depth-first, in the order issued');
});

t.test(
  'a stateful count whose processor never awaits forward() counts exactly (the crash a new user hit)',
  async (t) => {
    const topology = new Topology()
      .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .addProcessor(
        'count',
        (): Processor<string, string, string, string> => {
          let ctx!: ProcessorContext<string, string>;
          let store!: KeyValueStore<string, number>;
          return {
            init(c) {
              ctx = c;
              store = c.getStateStore('counts');
            },
            process(r) {
              const n = (store.get(r.key) ?? 0) + 1;
              store.put(r.key, n);
              void ctx.forward({ ...r, value: String(n) });
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
    const { pipe, out } = open(t, topology);
    await pipe(...Array.from({ length: 200 }, (_, i) => String(i)));
    t.same(
      out(),
      Array.from({ length: 200 }, (_, i) => String(i + 1)),
    );
  },
);

t.test(
  'a forward() after process() returned fails the task naming the processor and saying to await',
  async (t) => {
    let late: Promise<void> | undefined;
    const { pipe, out, driver } = open(
      t,
      pipeline((ctx, r) => {
        if (r.value === 'late') {
          // Forwarded from a timer: the record it belongs to is done by then.
          late = new Promise((resolve) =>
            setTimeout(() => void ctx.forward({ ...r, value: 'too late' }).then(resolve), 0),
          );
          return;
        }
        return ctx.forward(r);
      }),
    );
    await pipe('a', 'late');
    await late;
    await t.rejects(pipe('b'), {
      name: 'ProcessorError',
      processorName: 'first',
      message: /forward\(\) was called after process\(\).*await context\.forward/,
    });
    t.same(out(), ['a'], 'neither the late record nor the record in flight is output');
    await pipe('c');
    t.same(out(), ['c'], 'the rebuilt task goes on');
    t.equal(driver.getAllStateStores().size, 0);
  },
);

t.test('a downstream failure fails the record even when the processor swallows it', async (t) => {
  const { pipe, out } = open(
    t,
    pipeline(
      async (ctx, r) => {
        try {
          await ctx.forward(r);
        } catch {
          // swallowed: must not let a partial record commit
        }
      },
      (ctx, r) => {
        if (r.value === 'bad') throw new Error('child failed');
        return ctx.forward(r);
      },
    ),
  );
  await pipe('ok');
  await t.rejects(pipe('bad'), { name: 'ProcessorError', processorName: 'second' });
  t.same(out(), ['ok']);
});

t.test(
  'a record forwarded without headers or timestamp gets none and the current time',
  async (t) => {
    const topology = new Topology()
      .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .addProcessor(
        'p',
        (): Processor<string, string, string, string> => {
          let ctx!: ProcessorContext<string, string>;
          return {
            init: (c) => void (ctx = c),
            // As JavaScript (or a cast) would: no headers, no timestamp.
            process: (r) =>
              ctx.forward({ key: r.key, value: r.value } as StreamRecord<string, string>),
          };
        },
        'src',
      )
      .addSink(
        'out',
        { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
        'p',
      );
    const driver = new TopologyTestDriver(topology);
    t.teardown(() => driver.close());
    await driver
      .createInputTopic('in', Serdes.string(), Serdes.string())
      .pipeInput('k', 'v', 4_242);
    const record = driver.createOutputTopic('out', Serdes.string(), Serdes.string()).readRecord();
    t.same(record.headers, {});
    t.equal(record.timestamp, 4_242);
  },
);

t.test('a record forwarded with an invalid timestamp fails naming the processor', async (t) => {
  const { pipe } = open(
    t,
    pipeline((ctx, r) => ctx.forward({ ...r, timestamp: Number.NaN })),
  );
  await t.rejects(pipe('a'), {
    message: /Processor "first" forwarded a record with timestamp NaN/,
  });
});

t.test(
  'a punctuator forwarding without headers works, and its un-awaited forwards complete',
  async (t) => {
    const topology = new Topology()
      .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .addProcessor(
        'p',
        (): Processor<string, string, string, string> => {
          let ctx!: ProcessorContext<string, string>;
          return {
            init(c) {
              ctx = c;
              c.schedule(1_000, 'wall-clock', (time) => {
                void ctx.forward({ key: 'tick', value: String(time) } as StreamRecord<
                  string,
                  string
                >);
              });
            },
            process: () => undefined,
          };
        },
        'src',
      )
      .addSink(
        'out',
        { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() },
        'p',
      );
    const driver = new TopologyTestDriver(topology, { initialWallClockTime: 10_000 });
    t.teardown(() => driver.close());
    await driver.advanceWallClockTime(1_000);
    const record = driver.createOutputTopic('out', Serdes.string(), Serdes.string()).readRecord();
    t.same(
      { value: record.value, timestamp: record.timestamp, headers: record.headers },
      {
        value: '11000',
        timestamp: 11_000,
        headers: {},
      },
    );
  },
);
