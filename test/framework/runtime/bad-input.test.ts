// The bad inputs a new user hits, each with its clear error (issue: "Runtime
// in Kafka Streams' seams", section 4). Everything here runs without a
// broker except where it says so; the broker-side checks are in
// streams-app.test.ts.
import t from 'tap';
import {
  Serdes,
  StreamsApp,
  StreamsConfigError,
  Topology,
  TopologyError,
  type Processor,
  type ProcessorContext,
  type TimestampExtractor,
} from '../../../framework/index.ts';
import { Stores } from '../../../stores/index.ts';
import { TopologyTestDriver } from '../../../testkit/index.ts';

function passThrough(): Processor<string, string, string, string> {
  let ctx!: ProcessorContext<string, string>;
  return { init: (c) => void (ctx = c), process: (r) => ctx.forward(r) };
}

function withExtractor(extractor: TimestampExtractor<string, string>, ticks?: number[]): Topology {
  return new Topology()
    .addSource('src', {
      topics: ['in'],
      keySerde: Serdes.string(),
      valueSerde: Serdes.string(),
      timestampExtractor: extractor,
    })
    .addProcessor(
      'p',
      (): Processor<string, string, string, string> => {
        let ctx!: ProcessorContext<string, string>;
        return {
          init(c) {
            ctx = c;
            if (ticks) c.schedule(10, 'stream-time', (time) => void ticks.push(time));
          },
          process: (r) => ctx.forward(r),
        };
      },
      'src',
    )
    .addSink('out', { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'p');
}

const fromValue: TimestampExtractor<string, string> = (r) => Number(r.value);

t.test(
  'a timestamp extractor returning NaN, a negative or a fraction fails the record',
  async (t) => {
    for (const bad of ['NaN', '-5', '1.5']) {
      const driver = new TopologyTestDriver(withExtractor(fromValue));
      t.teardown(() => driver.close());
      const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
      const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
      await input.pipeInput('k', '100');
      await t.rejects(
        input.pipeInput('k', bad),
        {
          name: 'StreamsFatalError',
          message: new RegExp(
            `the timestamp extractor of source "src" gave ${bad === 'NaN' ? 'NaN' : bad.replace('.', '\\.')}, not a valid timestamp.*invalidTimestampHandler.*offset 1`,
          ),
          topic: 'in',
          partition: 0,
          offset: '1',
        },
        `${bad} is rejected naming the record`,
      );
      t.same(output.readValuesToList(), ['100'], 'nothing of the bad record is output');
    }
  },
);

t.test(
  "invalidTimestampHandler 'skip' skips such records with a warning, and stream time stays a number",
  async (t) => {
    const ticks: number[] = [];
    const logs: string[] = [];
    const driver = new TopologyTestDriver(withExtractor(fromValue, ticks), {
      invalidTimestampHandler: 'skip',
      log: (_level, message) => void logs.push(message),
    });
    t.teardown(() => driver.close());
    const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
    const output = driver.createOutputTopic('out', Serdes.string(), Serdes.string());
    for (const v of ['100', 'NaN', '-1', '125']) await input.pipeInput('k', v);
    t.same(output.readValuesToList(), ['100', '125']);
    t.match(
      logs.join('\n'),
      /skipping a record: the timestamp extractor of source "src" gave NaN.*in-0@1/,
    );
    t.same(
      ticks,
      [100, 125],
      'punctuation follows the valid timestamps only (called with the stream time)',
    );
    t.ok(ticks.every(Number.isFinite));
  },
);

t.test(
  'a throwing timestamp extractor is reported with the offset of the record it failed on',
  async (t) => {
    const driver = new TopologyTestDriver(
      withExtractor((r) => {
        if (r.value === 'boom') throw new Error('cannot parse');
        return 5;
      }),
    );
    t.teardown(() => driver.close());
    const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
    await input.pipeInput('k', 'fine');
    await input.pipeInput('k', 'fine');
    await t.rejects(input.pipeInput('k', 'boom'), {
      message: /timestamp extractor of source "src" threw: cannot parse.*offset 2/,
      offset: '2',
    });
  },
);

t.test('a dead-letter topic that is a source topic is rejected at construction', async (t) => {
  const topology = new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor('p', passThrough, 'src')
    .addSink('out', { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'p');
  t.throws(
    () =>
      new StreamsApp(topology, {
        applicationId: 'dlq',
        brokers: ['127.0.0.1:9092'],
        deserializationErrorHandler: { deadLetterTopic: 'in' },
      }),
    {
      constructor: StreamsConfigError,
      field: 'deserializationErrorHandler.deadLetterTopic',
      message: /"in" is a source topic of the topology/,
    },
  );
});

t.test('a store connected to no processor is rejected when the topology is built', async (t) => {
  const topology = new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor('p', passThrough, 'src')
    .addStateStore(
      Stores.keyValue('lost', { keySerde: Serdes.string(), valueSerde: Serdes.string() }),
    );
  t.throws(() => topology.build(), {
    constructor: TopologyError,
    message: /State store "lost" is connected to no processor/,
  });
  t.throws(() => new TopologyTestDriver(topology), {
    message: /"lost" is connected to no processor/,
  });
  topology.connectProcessorAndStateStores('p', 'lost');
  t.doesNotThrow(() => topology.build(), 'connecting it later is fine');
});

t.test('a processor supplier returning the same instance is rejected', async (t) => {
  const shared = passThrough();
  t.throws(
    () =>
      new Topology()
        .addSource('src', {
          topics: ['in'],
          keySerde: Serdes.string(),
          valueSerde: Serdes.string(),
        })
        .addProcessor('p', () => shared, 'src'),
    {
      constructor: TopologyError,
      message: /Processor "p": the supplier returned the same instance twice/,
    },
  );

  // One that only starts repeating itself later is caught when a task gets an instance twice.
  let calls = 0;
  let cached: Processor<string, string, string, string> | undefined;
  const sneaky = (): Processor<string, string, string, string> => {
    calls++;
    if (calls <= 2) return passThrough();
    return (cached ??= {
      init: () => undefined,
      process: (r) => {
        if (r.value === 'fail') throw new Error('planned');
      },
    });
  };
  const topology = new Topology()
    .addSource('src', { topics: ['in'], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor('p', sneaky, 'src')
    .addSink('out', { topic: 'out', keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'p');
  const driver = new TopologyTestDriver(topology);
  t.teardown(() => driver.close().catch(() => undefined));
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
  await t.rejects(input.pipeInput('k', 'fail'), { message: /planned/ });
  // The failed task's next incarnation asked the supplier again and got the same object.
  t.throws(() => driver.getAllStateStores(), {
    cause: { message: /supplier returned an instance it had returned before/ },
  });
});

t.test(
  'stream-time punctuation fires on the first record and stays aligned to the interval',
  async (t) => {
    const ticks: number[] = [];
    const driver = new TopologyTestDriver(withExtractor(fromValue, ticks));
    t.teardown(() => driver.close());
    const input = driver.createInputTopic('in', Serdes.string(), Serdes.string());
    for (const v of ['1234', '1239', '1240', '1275', '1249']) await input.pipeInput('k', v);
    t.same(
      ticks,
      [1234, 1240, 1275],
      'first record; then at 1240 and past 1270, not at 1244 or 1249',
    );
  },
);
