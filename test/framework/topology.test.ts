import t from 'tap';
import { TopologyError } from '../../framework/errors.ts';
import type { Processor, StateStore, StoreBuilder } from '../../framework/processor.ts';
import { Serdes } from '../../framework/serdes.ts';
import { checkCoPartitioning, parseTaskId, taskIdOf, Topology } from '../../framework/topology.ts';

const serdes = { keySerde: Serdes.string(), valueSerde: Serdes.string() };
const source = (...topics: string[]) => ({ topics, ...serdes });
const sink = (topic: string) => ({ topic, ...serdes });
const passThrough = (): Processor => ({ process() {} });
const store = (name: string): StoreBuilder => ({
  name,
  loggingEnabled: true,
  build: (): StateStore => ({ name, persistent: false, init() {}, close() {} }),
});

/** in -> a -> out, plus an unrelated second pipeline: in2 -> b -> out2 */
const twoPipelines = () =>
  new Topology()
    .addSource('src', source('in'))
    .addProcessor('a', passThrough, 'src')
    .addSink('out', sink('out'), 'a')
    .addSource('src2', source('in2'))
    .addProcessor('b', passThrough, 'src2')
    .addSink('out2', sink('out2'), 'b');

t.test('node names are unique across sources, processors and sinks', async (t) => {
  const topology = new Topology().addSource('x', source('in'));
  t.throws(() => topology.addProcessor('x', passThrough, 'x'), {
    name: 'TopologyError',
    message: 'A node named "x" already exists',
  });
  t.throws(() => topology.addSink('x', sink('out'), 'x'), /"x" already exists/);
  t.throws(() => topology.addSource('x', source('other')), /"x" already exists/);
  t.throws(() => topology.addSource('', source('other')), /non-empty name/);
});

t.test('an unknown parent is rejected naming the node and the parent', async (t) => {
  t.throws(() => new Topology().addProcessor('p', passThrough, 'nope'), {
    message: 'Processor "p": unknown parent "nope" (add parents first)',
  });
  t.throws(
    () => new Topology().addSink('s', sink('out'), 'nope'),
    /Sink "s": unknown parent "nope"/,
  );
});

t.test('processors and sinks need a parent', async (t) => {
  t.throws(
    () => new Topology().addProcessor('p', passThrough),
    /Processor "p" needs at least one parent/,
  );
  t.throws(() => new Topology().addSink('s', sink('out')), /Sink "s" needs at least one parent/);
});

t.test('a sink cannot be a parent', async (t) => {
  const topology = new Topology().addSource('src', source('in')).addSink('out', sink('out'), 'src');
  t.throws(() => topology.addProcessor('p', passThrough, 'out'), {
    message: 'Processor "p": parent "out" is a sink, which has no children',
  });
});

t.test('a parent listed twice is rejected (it would forward every record twice)', async (t) => {
  const topology = new Topology().addSource('src', source('in'));
  t.throws(
    () => topology.addProcessor('p', passThrough, 'src', 'src'),
    /Processor "p" lists a parent twice/,
  );
});

t.test('a topic read by two sources is rejected naming both', async (t) => {
  const topology = new Topology().addSource('first', source('in'));
  t.throws(() => topology.addSource('second', source('other', 'in')), {
    message: 'Source "second": topic "in" is already read by source "first"',
  });
  t.doesNotThrow(
    () => topology.addSource('third', source('other')),
    'the failed call claimed no topic',
  );
  t.throws(() => new Topology().addSource('s', source()), /Source "s" needs at least one topic/);
  t.throws(() => new Topology().addSource('s', source('a', 'a')), /lists a topic twice/);
});

t.test('a node without serdes is rejected naming the node and the field', async (t) => {
  const bad = { topics: ['in'], keySerde: Serdes.string() } as unknown as Parameters<
    Topology['addSource']
  >[1];
  t.throws(() => new Topology().addSource('src', bad), /Node "src": valueSerde must be a Serde/);
  t.throws(
    () => new Topology().addSink('s', { topic: '', ...serdes }, 'x'),
    /Sink "s" needs a topic/,
  );
});

t.test('a store attached to an unknown processor is rejected naming both', async (t) => {
  const topology = new Topology()
    .addSource('src', source('in'))
    .addProcessor('p', passThrough, 'src');
  t.throws(() => topology.addStateStore(store('counts'), 'p', 'ghost'), {
    message: 'State store "counts": unknown processor "ghost"',
  });
  t.throws(
    () => topology.addStateStore(store('counts'), 'src'),
    /"src" is a source, not a processor/,
  );
  t.doesNotThrow(() => topology.addStateStore(store('counts'), 'p'), 'failed calls added nothing');
  t.throws(
    () => topology.addStateStore(store('counts'), 'p'),
    /State store "counts" is already added/,
  );
});

t.test('connecting a processor to an unknown store is rejected naming both', async (t) => {
  const topology = new Topology()
    .addSource('src', source('in'))
    .addProcessor('p', passThrough, 'src');
  t.throws(() => topology.connectProcessorAndStateStores('p', 'ghost'), {
    message: 'Processor "p": unknown state store "ghost"',
  });
  t.throws(() => topology.connectProcessorAndStateStores('nope'), /unknown processor "nope"/);
});

t.test('unconnected pipelines are separate sub-topologies with their own topics', async (t) => {
  const { subtopologies, subtopologyByTopic } = twoPipelines().build();
  t.equal(subtopologies.length, 2);
  const [first, second] = subtopologies;
  t.match(first, { id: 0, sourceTopics: ['in'], sinkTopics: ['out'] });
  t.same([...(first?.nodes.keys() ?? [])], ['src', 'a', 'out']);
  t.match(second, { id: 1, sourceTopics: ['in2'], sinkTopics: ['out2'] });
  t.equal(subtopologyByTopic.get('in2'), second);
  t.equal(first?.sourceByTopic.get('in')?.name, 'src');
});

t.test('processors sharing a store join one sub-topology', async (t) => {
  const topology = twoPipelines().addStateStore(store('shared'), 'a', 'b');
  const { subtopologies } = topology.build();
  t.equal(subtopologies.length, 1);
  t.same(subtopologies[0]?.sourceTopics, ['in', 'in2']);
  t.same([...(subtopologies[0]?.stores.keys() ?? [])], ['shared']);
  t.match(subtopologies[0]?.nodes.get('a'), { kind: 'processor', stores: ['shared'] });
});

t.test('a store connected later with connectProcessorAndStateStores also joins', async (t) => {
  const topology = twoPipelines()
    .addStateStore(store('s'), 'a')
    .connectProcessorAndStateStores('b', 's');
  t.equal(topology.build().subtopologies.length, 1);
});

t.test('a node with two parents from different sources joins them', async (t) => {
  const topology = new Topology()
    .addSource('left', source('l'))
    .addSource('right', source('r'))
    .addProcessor('join', passThrough, 'left', 'right');
  const { subtopologies } = topology.build();
  t.equal(subtopologies.length, 1);
  t.match(subtopologies[0]?.nodes.get('join'), { parents: ['left', 'right'] });
  t.match(subtopologies[0]?.nodes.get('left'), { children: ['join'] });
});

t.test('sub-topology ids follow source names, not the order sources were added', async (t) => {
  const topology = new Topology()
    .addSource('z-source', source('z'))
    .addSource('a-source', source('a'));
  t.same(
    topology.build().subtopologies.map((s) => s.sourceTopics),
    [['a'], ['z']],
  );
});

t.test('a built topology is a snapshot: later changes do not reach it', async (t) => {
  const topology = new Topology().addSource('src', source('in'));
  const built = topology.build();
  topology.addProcessor('late', passThrough, 'src');
  const nodes = built.subtopologies[0]?.nodes;
  t.same([...(nodes?.keys() ?? [])], ['src']);
  t.match(
    nodes?.get('src'),
    { kind: 'source', children: { length: 0 } },
    'the source got no child',
  );
  t.ok(Object.isFrozen(nodes?.get('src')));
});

t.test('a topology without a source cannot be built', async (t) => {
  t.throws(() => new Topology().build(), { name: 'TopologyError', message: /no source/ });
});

t.test('the processor supplier is kept so each task can make its own instance', async (t) => {
  let made = 0;
  const supplier = () => {
    made++;
    return passThrough();
  };
  const built = new Topology()
    .addSource('src', source('in'))
    .addProcessor('p', supplier, 'src')
    .build();
  const node = built.subtopologies[0]?.nodes.get('p');
  if (node?.kind !== 'processor') throw new Error('expected a processor');
  t.equal(made, 2, 'addProcessor calls the supplier twice to check it returns new instances');
  t.not(node.supplier(), node.supplier());
  t.equal(made, 4);
});

t.test('describe() prints nodes, edges and stores like Kafka Streams', async (t) => {
  const topology = twoPipelines().addStateStore(store('counts'), 'a');
  t.equal(
    topology.describe().toString(),
    [
      'Topologies:',
      '   Sub-topology: 0',
      '    Source: src (topics: [in])',
      '      --> a',
      '    Processor: a (stores: [counts])',
      '      --> out',
      '      <-- src',
      '    Sink: out (topic: out)',
      '      <-- a',
      '   Sub-topology: 1',
      '    Source: src2 (topics: [in2])',
      '      --> b',
      '    Processor: b (stores: [])',
      '      --> out2',
      '      <-- src2',
      '    Sink: out2 (topic: out2)',
      '      <-- b',
      '',
    ].join('\n'),
  );
  t.match(topology.describe().subtopologies[1]?.nodes[1], {
    kind: 'processor',
    name: 'b',
    predecessors: ['src2'],
    successors: ['out2'],
  });
});

t.test('describe() shows a node without children as --> none', async (t) => {
  const text = new Topology().addSource('src', source('in')).describe().toString();
  t.match(text, /Source: src \(topics: \[in\]\)\n {6}--> none/);
});

t.test('co-partitioned sources yield one task per partition', async (t) => {
  const built = new Topology()
    .addSource('left', source('l'))
    .addSource('right', source('r'))
    .addProcessor('join', passThrough, 'left', 'right')
    .addSource('other', source('o'))
    .build();
  const counts = checkCoPartitioning(
    built,
    new Map([
      ['l', 6],
      ['r', 6],
      ['o', 2],
    ]),
  );
  t.same(
    [...counts],
    [
      [0, 6],
      [1, 2],
    ],
  );
});

t.test(
  'sources of one sub-topology that are not co-partitioned are rejected with their counts',
  async (t) => {
    const built = new Topology()
      .addSource('left', source('l'))
      .addSource('right', source('r'))
      .addProcessor('join', passThrough, 'left', 'right')
      .build();
    t.throws(
      () =>
        checkCoPartitioning(
          built,
          new Map([
            ['l', 6],
            ['r', 3],
          ]),
        ),
      {
        name: 'TopologyError',
        message: /Sub-topology 0: source topics are not co-partitioned: l \(6\), r \(3\)/,
      },
    );
    t.throws(() => checkCoPartitioning(built, new Map([['l', 6]])), /source topics not found: r/);
  },
);

t.test('task ids are <subtopology>_<partition> and parse back', async (t) => {
  t.equal(taskIdOf(1, 12), '1_12');
  t.same(parseTaskId('1_12'), { subtopologyId: 1, partition: 12 });
  t.throws(() => parseTaskId('1-12'), TopologyError);
});

const unlogged = (name: string): StoreBuilder => ({ ...store(name), loggingEnabled: false });
const globalOptions = { topic: 'users', ...serdes, processor: passThrough };

t.test(
  'addGlobalStore: the store joins no sub-topology and is listed with its topic',
  async (t) => {
    const topology = new Topology()
      .addGlobalStore(unlogged('users-global'), globalOptions)
      .addSource('src', source('in'))
      .addProcessor('p', passThrough, 'src')
      .connectProcessorAndStateStores('p', 'users-global');
    const built = topology.build();
    t.equal(built.subtopologies.length, 1);
    t.same([...built.subtopologies[0]!.stores.keys()], [], 'no task store: it is global');
    t.same(built.subtopologies[0]!.sourceTopics, ['in']);
    t.match(built.globalStores, [
      {
        storeName: 'users-global',
        topic: 'users',
        sourceName: 'users-global-global-source',
        processorName: 'users-global-global-processor',
      },
    ]);
    t.match(
      topology.describe().toString(),
      /Sub-topology: 1 for global store \(will not generate tasks\)\n {4}Source: users-global-global-source \(topics: \[users\]\)/,
    );
  },
);

t.test('addGlobalStore rejects what it could not run, naming the store', async (t) => {
  t.throws(
    () => new Topology().addGlobalStore(store('g'), globalOptions),
    /Global store "g": its topic is its log, so it must not have a changelog; build it with logging: false/,
  );
  t.throws(
    () =>
      new Topology().addSource('s', source('users')).addGlobalStore(unlogged('g'), globalOptions),
    /Global store "g": topic "users" is already read by source "s"/,
  );
  t.throws(
    () =>
      new Topology().addGlobalStore(unlogged('g'), globalOptions).addSource('s', source('users')),
    /topic "users" is already read by source "g-global-source"/,
  );
  t.throws(
    () =>
      new Topology()
        .addGlobalStore(unlogged('g'), globalOptions)
        .addGlobalStore(unlogged('g'), { ...globalOptions, topic: 'other' }),
    /Global store "g": a state store of that name is already added/,
  );
  t.throws(
    () =>
      new Topology()
        .addGlobalStore(unlogged('g'), { ...globalOptions, sourceName: 'x' })
        .addSource('x', source('in')),
    /A node named "x" already exists/,
  );
  t.throws(
    () =>
      new Topology().addGlobalStore(unlogged('g'), {
        ...globalOptions,
        processor: 'nope' as unknown as typeof passThrough,
      }),
    /Global store "g": processor must be a function/,
  );
});
