// KStream's stateless operators, grouping and repartition, on the TopologyTestDriver.
import t from 'tap';
import { Serdes, type Processor, type ProcessorContext } from '../../framework/index.ts';
import { Stores, type KeyValueStore } from '../../stores/index.ts';
import { StreamsBuilder } from '../../dsl/index.ts';
import { driverFor } from './support.ts';

const S = Serdes.string();
const strings = { keySerde: S, valueSerde: S };

t.test('filter, filterNot, mapValues (value and value + key), peek and foreach', async (t) => {
  const builder = new StreamsBuilder();
  const seen: string[] = [];
  const input = builder.stream('in', strings);
  input
    .filter((_k, v) => v.length > 1)
    .mapValues((v) => v.toUpperCase())
    .to('long', { valueSerde: S });
  input
    .filterNot((_k, v) => v.length > 1)
    .mapValues((v, k) => `${k}:${v}`)
    .to('short', { valueSerde: S });
  input.peek((k) => seen.push(`peek ${k}`)).foreach((k, v) => seen.push(`each ${k}=${v}`));
  const { driver } = await driverFor(t, builder.build());
  const pipe = driver.createInputTopic('in', S, S);
  await pipe.pipeInput('a', 'xx');
  await pipe.pipeInput('b', 'y');
  t.same(driver.createOutputTopic('long', S, S).readKeyValuesToList(), [{ key: 'a', value: 'XX' }]);
  t.same(driver.createOutputTopic('short', S, S).readKeyValuesToList(), [
    { key: 'b', value: 'b:y' },
  ]);
  t.same(seen, ['peek a', 'each a=xx', 'peek b', 'each b=y']);
});

t.test(
  'map, flatMap, flatMapValues and selectKey change keys and values; timestamps pass through',
  async (t) => {
    const builder = new StreamsBuilder();
    const input = builder.stream('in', strings);
    input
      .map((k, v) => ({ key: v, value: k.length }))
      .to('mapped', { keySerde: S, valueSerde: Serdes.int32() });
    input
      .flatMap((k, v) => v.split(',').map((part) => ({ key: part, value: k })))
      .to('flat', strings);
    input.flatMapValues((v) => v.split(',')).to('flat-values', { valueSerde: S });
    input.selectKey((_k, v) => v.slice(0, 1)).to('selected', { keySerde: S });
    const { driver } = await driverFor(t, builder.build());
    await driver.createInputTopic('in', S, S).pipeInput('key', 'p,q', 42);
    const mapped = driver.createOutputTopic('mapped', S, Serdes.int32()).readRecord();
    t.same([mapped.key, mapped.value, mapped.timestamp], ['p,q', 3, 42]);
    t.same(driver.createOutputTopic('flat', S, S).readKeyValuesToList(), [
      { key: 'p', value: 'key' },
      { key: 'q', value: 'key' },
    ]);
    t.same(driver.createOutputTopic('flat-values', S, S).readKeyValuesToList(), [
      { key: 'key', value: 'p' },
      { key: 'key', value: 'q' },
    ]);
    t.same(driver.createOutputTopic('selected', S, S).readKeyValuesToList(), [
      { key: 'p', value: 'p,q' },
    ]);
  },
);

t.test(
  'split() sends each record to the first matching named branch, else the default',
  async (t) => {
    const builder = new StreamsBuilder();
    const branches = builder
      .stream('in', { keySerde: S, valueSerde: Serdes.json<number>() })
      .split({ name: 'numbers-' })
      .branch((_k, v) => v < 0, 'negative')
      .branch((_k, v) => v % 2 === 0, 'even')
      .defaultBranch('other');
    branches.negative.to('negative');
    branches.even.to('even');
    branches.other.to('other');
    const topology = builder.build();
    t.match(
      topology.describe().toString(),
      /Processor: numbers- .*\n.*--> numbers-negative, numbers-even, numbers-other/,
    );
    const { driver } = await driverFor(t, topology);
    const pipe = driver.createInputTopic('in', S, Serdes.json<number>());
    for (const n of [-2, 4, 3, -1, 6]) await pipe.pipeInput(String(n), n);
    const read = (topic: string) =>
      driver.createOutputTopic(topic, S, Serdes.json<number>()).readValuesToList();
    t.same(read('negative'), [-2, -1], 'a negative even number goes to the first branch only');
    t.same(read('even'), [4, 6]);
    t.same(read('other'), [3]);
  },
);

t.test('merge() interleaves two streams in processing order', async (t) => {
  const builder = new StreamsBuilder();
  const a = builder.stream('a', strings);
  const b = builder.stream('b', strings).mapValues((v) => v + '!');
  a.merge(b).to('merged');
  const { driver } = await driverFor(t, builder.build());
  await driver.createInputTopic('a', S, S).pipeInput('k', '1');
  await driver.createInputTopic('b', S, S).pipeInput('k', '2');
  await driver.createInputTopic('a', S, S).pipeInput('k', '3');
  t.same(driver.createOutputTopic('merged', S, S).readValuesToList(), ['1', '2!', '3']);
});

t.test('to() with a topic extractor and a partitioner', async (t) => {
  const builder = new StreamsBuilder();
  let partitioned = 0;
  builder.stream('in', strings).to((record) => `out-${record.value}`, {
    partitioner: () => (partitioned++, 0),
  });
  // The driver reads fixed sink topics only: a second stream makes out-x and out-y known.
  const other = builder.stream('other', strings);
  other.to('out-x');
  other.to('out-y');
  const { driver } = await driverFor(t, builder.build());
  await driver.createInputTopic('in', S, S).pipeInput('k', 'x');
  await driver.createInputTopic('in', S, S).pipeInput('k', 'y');
  t.same(driver.createOutputTopic('out-x', S, S).readValuesToList(), ['x']);
  t.same(driver.createOutputTopic('out-y', S, S).readValuesToList(), ['y']);
  t.equal(partitioned, 2, 'the partitioner picked both partitions');
});

t.test('groupBy() changes the key through a repartition topic, then count()', async (t) => {
  const builder = new StreamsBuilder();
  builder
    .stream('lines', strings)
    .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter(Boolean))
    .groupBy((_k, word) => word, { keySerde: S, valueSerde: S })
    .count({ storeName: 'word-counts' })
    .toStream()
    .to('counts', { valueSerde: Serdes.long() });
  const topology = builder.build();
  const description = topology.describe().toString();
  t.match(
    description,
    /Sub-topology: 0[\s\S]*Sink: word-counts-repartition-sink \(topic: word-counts-repartition\)/,
  );
  t.match(
    description,
    /Sub-topology: 1[\s\S]*Source: word-counts-repartition-source \(topics: \[word-counts-repartition\]\)/,
  );
  t.match(description, /Processor: KSTREAM-AGGREGATE-\d{10} \(stores: \[word-counts\]\)/);
  const { driver } = await driverFor(t, topology, { applicationId: 'wc' });
  const lines = driver.createInputTopic('lines', S, S);
  await lines.pipeInput('l1', 'Hello world');
  await lines.pipeInput('l2', 'hello streams');
  t.same(driver.createOutputTopic('counts', S, Serdes.long()).readKeyValuesToList(), [
    { key: 'hello', value: 1 },
    { key: 'world', value: 1 },
    { key: 'hello', value: 2 },
    { key: 'streams', value: 1 },
  ]);
  t.same(driver.getTimestampedKeyValueStore<string, number>('word-counts').get('hello')?.value, 2);
  t.ok(
    driver.outputTopics.includes('wc-word-counts-repartition'),
    'the repartition topic is the app id, name, -repartition',
  );
});

t.test('groupByKey() after selectKey repartitions; without a key change it does not', async (t) => {
  const builder = new StreamsBuilder();
  const input = builder.stream('in', strings);
  input.groupByKey().count({ storeName: 'same-key' });
  input
    .selectKey((_k, v) => v)
    .groupByKey({ name: 'by-value', keySerde: S })
    .count({ storeName: 'by-value-count' })
    .toStream()
    .to('by-value-out', { valueSerde: Serdes.long() });
  const topology = builder.build();
  const description = topology.describe().toString();
  t.equal(
    (description.match(/Sink: \S+-repartition-sink/g) ?? []).length,
    1,
    'one repartition, for the changed key',
  );
  t.match(description, /by-value-repartition/, 'named by Grouped');
  const { driver } = await driverFor(t, topology);
  const pipe = driver.createInputTopic('in', S, S);
  await pipe.pipeInput('k1', 'v');
  await pipe.pipeInput('k2', 'v');
  await pipe.pipeInput('k1', 'w');
  t.same(driver.getTimestampedKeyValueStore<string, number>('same-key').get('k1')?.value, 2);
  t.same(driver.createOutputTopic('by-value-out', S, Serdes.long()).readKeyValuesToList(), [
    { key: 'v', value: 1 },
    { key: 'v', value: 2 },
    { key: 'w', value: 1 },
  ]);
});

t.test(
  'reduce() and aggregate() per key; null keys and values are dropped and counted',
  async (t) => {
    const builder = new StreamsBuilder();
    const input = builder.stream('in', { keySerde: S, valueSerde: Serdes.json<number>() });
    input
      .groupByKey()
      .reduce((a, b) => a + b, { storeName: 'sum' })
      .toStream()
      .to('sums');
    input
      .groupByKey()
      .aggregate(
        () => ({ min: Infinity, max: -Infinity }),
        (_k, v, agg) => ({ min: Math.min(agg.min, v), max: Math.max(agg.max, v) }),
        { storeName: 'range', valueSerde: Serdes.json<{ min: number; max: number }>() },
      )
      .toStream()
      .to('ranges');
    const { driver, log } = await driverFor(t, builder.build());
    const pipe = driver.createInputTopic('in', S, Serdes.json<number>());
    await pipe.pipeInput('a', 3, 10);
    await pipe.pipeInput('a', 5, 5);
    await pipe.pipeInput(null, 7, 20);
    await pipe.pipeInput('a', null, 20);
    t.same(driver.createOutputTopic('sums', S, Serdes.json<number>()).readValuesToList(), [3, 8]);
    t.same(driver.createOutputTopic('ranges', S, Serdes.json()).readValuesToList(), [
      { min: 3, max: 3 },
      { min: 3, max: 5 },
    ]);
    const sum = driver.getTimestampedKeyValueStore<string, number>('sum').get('a');
    t.same(sum, { value: 8, timestamp: 10 }, 'the aggregate keeps the latest record time');
    t.ok(
      log.some((l) => /null key/.test(l)),
      'a null key is logged as dropped',
    );
    t.ok(
      log.some((l) => /null value/.test(l)),
      'a null value is logged as dropped',
    );
  },
);

t.test('repartition() writes and reads an internal topic with the given partitions', async (t) => {
  const builder = new StreamsBuilder();
  builder
    .stream('in', strings)
    .selectKey((_k, v) => v)
    .repartition({ name: 'rekeyed', partitions: 3, keySerde: S })
    .mapValues((v) => v + '.')
    .to('out', { valueSerde: S });
  const topology = builder.build();
  const built = topology.build('app');
  t.same(
    built.repartitionTopics.map((r) => [r.topic, r.partitions]),
    [['app-rekeyed-repartition', 3]],
  );
  t.equal(built.subtopologies.length, 2, 'two sub-topologies');
  const { driver } = await driverFor(t, topology);
  await driver.createInputTopic('in', S, S).pipeInput('k', 'v');
  t.same(driver.createOutputTopic('out', S, S).readKeyValuesToList(), [{ key: 'v', value: 'v.' }]);
});

t.test('process() with a store added by addStateStore, and toTable()', async (t) => {
  class Dedupe implements Processor<string, string, string, string> {
    #context!: ProcessorContext<string, string>;
    #seen!: KeyValueStore<string, number>;
    init(context: ProcessorContext<string, string>): void {
      this.#context = context;
      this.#seen = context.getStateStore('seen');
    }
    process(record: { key: string; value: string; timestamp: number; headers: object }): void {
      if (this.#seen.get(record.value) !== undefined) return;
      this.#seen.put(record.value, 1);
      void this.#context.forward({ ...record, headers: {} });
    }
  }
  const builder = new StreamsBuilder();
  builder.addStateStore(Stores.keyValue('seen', { keySerde: S, valueSerde: Serdes.int32() }));
  builder
    .stream('in', strings)
    .process(() => new Dedupe(), 'seen')
    .toTable(undefined, { storeName: 'latest', keySerde: S, valueSerde: S })
    .toStream()
    .to('out', strings);
  const { driver } = await driverFor(t, builder.build());
  const pipe = driver.createInputTopic('in', S, S);
  await pipe.pipeInput('a', 'x');
  await pipe.pipeInput('b', 'x');
  await pipe.pipeInput('b', 'y');
  t.same(driver.createOutputTopic('out', S, S).readKeyValuesToList(), [
    { key: 'a', value: 'x' },
    { key: 'b', value: 'y' },
  ]);
  t.same(driver.getTimestampedKeyValueStore<string, string>('latest').get('b')?.value, 'y');
});

t.test('missing serdes at a grouping or materialization point name the operator', async (t) => {
  const builder = new StreamsBuilder();
  const mapped = builder.stream('in', strings).map((k, v) => ({ key: v.length, value: k }));
  t.throws(() => mapped.groupByKey().count(), /count\(\): no keySerde is known here.*Grouped/);
  t.throws(
    () => mapped.groupByKey({ keySerde: Serdes.int32() }).count(),
    /count\(\) \(repartition after a key change\): no valueSerde/,
  );
  t.throws(() => mapped.to('out'), /to\("out"\): no keySerde/);
  t.throws(
    () =>
      builder
        .stream('other', strings)
        .groupByKey()
        .aggregate(
          () => 0,
          (_k, _v, n) => n + 1,
        ),
    /aggregate\(\): no valueSerde .*Materialized \{ valueSerde \}/,
  );
  t.throws(
    () => builder.stream('in', strings),
    /stream\(in\): topic "in" is already read by KSTREAM-SOURCE-\d+/,
  );
  t.throws(
    () => builder.stream('x', { keySerde: S } as never),
    /stream\(x\): valueSerde must be a Serde/,
  );
  const clash = new StreamsBuilder();
  clash
    .stream('in', strings)
    .groupBy((_k, v) => v, { name: 'counts', keySerde: S })
    .count()
    .toStream()
    .to('counts');
  t.throws(
    () => clash.build(),
    /repartition topic name "counts" is also a topic the app reads or writes/,
  );
  const unused = new StreamsBuilder();
  unused.addStateStore(Stores.keyValue('lonely', { keySerde: S, valueSerde: S }));
  unused.stream('in', strings).to('out');
  t.throws(() => unused.build(), /"lonely" .* no process\(\) uses it/);
});

t.test('generated names follow Kafka Streams (KSTREAM-<OP>-<10-digit index>)', async (t) => {
  const builder = new StreamsBuilder();
  builder
    .stream('in', strings)
    .filter(() => true)
    .mapValues((v) => v)
    .groupByKey()
    .count()
    .toStream()
    .to('out', { valueSerde: Serdes.long() });
  t.equal(
    builder.build().describe().toString(),
    [
      'Topologies:',
      '   Sub-topology: 0',
      '    Source: KSTREAM-SOURCE-0000000000 (topics: [in])',
      '      --> KSTREAM-FILTER-0000000001',
      '    Processor: KSTREAM-FILTER-0000000001 (stores: [])',
      '      --> KSTREAM-MAPVALUES-0000000002',
      '      <-- KSTREAM-SOURCE-0000000000',
      '    Processor: KSTREAM-MAPVALUES-0000000002 (stores: [])',
      '      --> KSTREAM-AGGREGATE-0000000004',
      '      <-- KSTREAM-FILTER-0000000001',
      '    Processor: KSTREAM-AGGREGATE-0000000004 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000003])',
      '      --> KTABLE-TOSTREAM-0000000005',
      '      <-- KSTREAM-MAPVALUES-0000000002',
      '    Processor: KTABLE-TOSTREAM-0000000005 (stores: [])',
      '      --> KSTREAM-SINK-0000000006',
      '      <-- KSTREAM-AGGREGATE-0000000004',
      '    Sink: KSTREAM-SINK-0000000006 (topic: out)',
      '      <-- KTABLE-TOSTREAM-0000000005',
      '',
    ].join('\n'),
  );
});
