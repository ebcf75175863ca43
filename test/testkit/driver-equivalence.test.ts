// What passes in the TopologyTestDriver behaves the same on a cluster: for
// three topologies, the same seeded random input gives the same committed
// output (key, value, timestamp, headers, order) through the driver and
// through a real StreamsApp on a real broker, read with read_committed.
import t, { type Test } from 'tap';
import { createKafkaClient } from '../../framework/client/index.ts';
import {
  Serdes,
  StreamsApp,
  Topology,
  type Processor,
  type ProcessorContext,
} from '../../framework/index.ts';
import { Stores, type KeyValueStore } from '../../stores/index.ts';
import { buildBinningTopology } from '../../examples/binning/app.ts';
import { generateTrades } from '../../examples/binning/generator.ts';
import { TopologyTestDriver, produceRecords, waitFor } from '../../testkit/index.ts';
import { clusterFor } from '../support/cluster.ts';
import { uniqueName } from '../support/ids.ts';
import { readCommitted } from '../support/kafka.ts';

const SEED = Number(process.env.STREAMTX_SEED ?? 20_260_102);

/** mulberry32: a small seedable PRNG, so a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Input {
  key: string;
  value: string;
  timestamp: number;
  headers: Record<string, string>;
}

/** Random keyed records with increasing (sometimes equal or late) timestamps. */
function randomInputs(seed: number, count: number, keys: number): Input[] {
  const random = prng(seed);
  let time = 1_700_000_000_000;
  return Array.from({ length: count }, (_, i) => {
    time += Math.floor(random() * 1_000) - 100; // some records are out of order
    return {
      key: `k${Math.floor(random() * keys)}`,
      value: String(Math.floor(random() * 1_000)),
      timestamp: time,
      headers: { seq: String(i) },
    };
  });
}

/** Stateless: drops multiples of 3, rewrites key and value, adds a header. */
function mapFilterTopology(input: string, output: string): Topology {
  return new Topology()
    .addSource('in', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'map-filter',
      (): Processor<string, string, string, string> => {
        let ctx!: ProcessorContext<string, string>;
        return {
          init: (c) => void (ctx = c),
          async process(r) {
            const n = Number(r.value);
            if (n % 3 === 0) return;
            await ctx.forward({
              key: r.key.toUpperCase(),
              value: `${n * 2}|${r.key}`,
              timestamp: r.timestamp,
              headers: { ...r.headers, parity: n % 2 === 0 ? 'even' : 'odd' },
            });
          },
        };
      },
      'in',
    )
    .addSink(
      'out',
      { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'map-filter',
    );
}

/** Stateful: a running count and sum per key in a changelogged SQLite key-value store. */
function countTopology(input: string, output: string): Topology {
  return new Topology()
    .addSource('in', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'count',
      (): Processor<string, string, string, string> => {
        let ctx!: ProcessorContext<string, string>;
        let store!: KeyValueStore<string, { count: number; sum: number }>;
        return {
          init(c) {
            ctx = c;
            store = c.getStateStore('counts');
          },
          async process(r) {
            const before = store.get(r.key) ?? { count: 0, sum: 0 };
            const after = { count: before.count + 1, sum: before.sum + Number(r.value) };
            store.put(r.key, after);
            await ctx.forward({ ...r, value: `${after.count}/${after.sum}` });
          },
        };
      },
      'in',
    )
    .addStateStore(
      Stores.keyValue('counts', {
        keySerde: Serdes.string(),
        valueSerde: Serdes.json<{ count: number; sum: number }>(),
      }),
      'count',
    )
    .addSink(
      'out',
      { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'count',
    );
}

interface Output {
  key: string;
  value: string;
  timestamp: number;
  headers: Record<string, string>;
}

/** Output topics carry text; changelog keys are binary (window stores append the window start). */
type Encoding = 'utf8' | 'hex';

function headerStrings(
  headers: Record<string, Buffer | Buffer[] | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) out[k] = String(Array.isArray(v) ? v[0] : v);
  return out;
}

function toOutput(
  r: {
    key: Buffer | null;
    value: Buffer | null;
    timestamp: number;
    headers: Record<string, Buffer | Buffer[] | undefined>;
  },
  encoding: Encoding,
): Output {
  return {
    key: r.key?.toString(encoding) ?? '',
    value: r.value?.toString(encoding) ?? '',
    timestamp: r.timestamp,
    headers: headerStrings(r.headers),
  };
}

/** Pipes every input through a driver; returns what it committed to `output` and to each changelog. */
async function throughDriver(
  topology: Topology,
  applicationId: string,
  input: string,
  output: string,
  changelogs: string[],
  inputs: Input[],
): Promise<Map<string, Output[]>> {
  const driver = new TopologyTestDriver(topology, { applicationId });
  try {
    const topic = driver.createInputTopic(input, Serdes.string(), Serdes.string());
    for (const r of inputs) await topic.pipeInput(r.key, r.value, r.timestamp, r.headers);
    const read = (name: string, encoding: Encoding): Output[] =>
      driver
        .createOutputTopic(name, Serdes.bytes(), Serdes.bytes())
        .readRecordsToList()
        .map((r) => toOutput(r, encoding));
    return new Map([
      [output, read(output, 'utf8')],
      ...changelogs.map((c) => [c, read(c, 'hex')] as const),
    ]);
  } finally {
    await driver.close();
  }
}

t.test('the driver and a real cluster give identical output', async (t) => {
  const cluster = await clusterFor(t, { brokers: 1 });
  const brokers = cluster.bootstrapServers;

  /** Everything committed to a topic, read after every transaction on it finished. */
  async function readTopic(t: Test, topic: string, encoding: Encoding): Promise<Output[]> {
    // readCommitted waits until every transaction on the topic has finished.
    const plain = await readCommitted(brokers, topic);
    const client = await createKafkaClient({
      brokers,
      clientId: 'equivalence-reader',
      logLevel: 'nothing',
    });
    const detailed: Output[] = [];
    try {
      if (plain.length > 0) {
        for await (const batch of client.readPartition(topic, 0, 0n, 'end')) {
          for (const r of batch) detailed.push(toOutput(r, encoding));
        }
      }
    } finally {
      await client.close();
    }
    t.equal(
      detailed.length,
      plain.length,
      `${topic}: the detailed read saw what read_committed saw`,
    );
    return detailed;
  }

  /** Runs the topology in a StreamsApp over a one-partition input until every input record is committed. */
  async function throughCluster(
    t: Test,
    topology: Topology,
    applicationId: string,
    input: string,
    output: string,
    changelogs: string[],
    inputs: Input[],
  ): Promise<Map<string, Output[]>> {
    await cluster.createTopic(input, { partitions: 1 });
    await cluster.createTopic(output, { partitions: 1 });
    await produceRecords(brokers, input, inputs);
    const app = new StreamsApp(topology, {
      applicationId,
      brokers,
      stateDir: t.testdir({}),
      replicationFactor: 1,
      logLevel: 'warn',
    });
    let committed = 0;
    app.onCommit((e) => void (committed += e.records));
    await app.start();
    try {
      await waitFor(() => committed >= inputs.length || app.state === 'ERROR', {
        timeoutMs: 120_000,
        what: `${inputs.length} input records committed by ${applicationId} (${committed} so far)`,
      });
      t.not(app.state, 'ERROR', 'the app ran without error');
    } finally {
      await app.close();
    }
    return new Map([
      [output, await readTopic(t, output, 'utf8')],
      ...(await Promise.all(
        changelogs.map(async (c) => [c, await readTopic(t, c, 'hex')] as const),
      )),
    ]);
  }

  const scenarios: {
    name: string;
    build: (i: string, o: string) => Topology;
    stores: string[];
    inputs: Input[];
  }[] = [
    {
      name: 'stateless map/filter',
      build: mapFilterTopology,
      stores: [],
      inputs: randomInputs(SEED, 400, 12),
    },
    {
      name: 'stateful per-key count (SQLite key-value store, changelogged)',
      build: countTopology,
      stores: ['counts'],
      inputs: randomInputs(SEED + 1, 400, 12),
    },
    {
      name: 'windowed binning example (window store, stream-time punctuation)',
      build: (i, o) => buildBinningTopology({ tradesTopic: i, binsTopic: o }),
      stores: ['open-bins'],
      inputs: generateTrades({
        seed: SEED + 2,
        symbols: ['ACME', 'GLOBX', 'INITECH'],
        minutes: 5,
      }).map((r, i) => ({
        ...r,
        headers: { seq: String(i) },
      })),
    },
  ];

  for (const { name, build, stores, inputs } of scenarios) {
    t.test(`${name} (seed ${SEED})`, async (t) => {
      const input = uniqueName('eq-in');
      const output = uniqueName('eq-out');
      const applicationId = uniqueName('eq-app');
      const changelogs = stores.map((store) => `${applicationId}-${store}-changelog`);
      const viaDriver = await throughDriver(
        build(input, output),
        applicationId,
        input,
        output,
        changelogs,
        inputs,
      );
      const viaCluster = await throughCluster(
        t,
        build(input, output),
        applicationId,
        input,
        output,
        changelogs,
        inputs,
      );
      for (const topic of [output, ...changelogs]) {
        const want = viaDriver.get(topic) ?? [];
        const got = viaCluster.get(topic) ?? [];
        const what =
          topic === output ? 'output' : `changelog ${topic.slice(applicationId.length + 1)}`;
        t.ok(want.length > 0, `${what}: the driver committed ${want.length} records`);
        t.equal(got.length, want.length, `${what}: as many records on the cluster`);
        t.same(got, want, `${what}: identical keys, values, timestamps, headers and order`);
        t.comment(`${name}: ${inputs.length} inputs → ${what} ${want.length} records, identical`);
      }
    });
  }

  t.test(
    'a task reading two topics processes them in timestamp order on the cluster, as in the driver',
    async (t) => {
      const left = uniqueName('eq-left');
      const right = uniqueName('eq-right');
      const output = uniqueName('eq-merged');
      const applicationId = uniqueName('eq-merge');
      const build = (): Topology =>
        new Topology()
          .addSource('both', {
            topics: [left, right],
            keySerde: Serdes.string(),
            valueSerde: Serdes.string(),
          })
          .addProcessor(
            'tag',
            (): Processor<string, string, string, string> => {
              let ctx!: ProcessorContext<string, string>;
              return {
                init: (c) => void (ctx = c),
                process: (r) =>
                  ctx.forward({ ...r, value: `${ctx.topic === left ? 'L' : 'R'}${r.value}` }),
              };
            },
            'both',
          )
          .addSink(
            'out',
            { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() },
            'tag',
          );
      // The left topic is written whole before the right one: processed batch by batch, all
      // of it would come first. Timestamps interleave: 0, 2, 4, ... left; 1, 3, 5, ... right.
      const base = 1_700_000_000_000;
      const lefts = Array.from({ length: 300 }, (_, i) => ({
        key: `k${i % 7}`,
        value: String(2 * i),
        timestamp: base + 2 * i,
      }));
      const rights = Array.from({ length: 300 }, (_, i) => ({
        key: `k${i % 5}`,
        value: String(2 * i + 1),
        timestamp: base + 2 * i + 1,
      }));

      const driver = new TopologyTestDriver(build(), { applicationId });
      const l = driver.createInputTopic(left, Serdes.string(), Serdes.string());
      const r = driver.createInputTopic(right, Serdes.string(), Serdes.string());
      // A driver processes each piped record at once (as Kafka Streams' does): pipe in time order.
      const piped = [
        ...lefts.map((x) => ({ ...x, to: l })),
        ...rights.map((x) => ({ ...x, to: r })),
      ].sort((a, b) => a.timestamp - b.timestamp);
      for (const x of piped) await x.to.pipeInput(x.key, x.value, x.timestamp);
      const viaDriver = driver
        .createOutputTopic(output, Serdes.string(), Serdes.string())
        .readValuesToList();
      await driver.close();

      await cluster.createTopic(left, { partitions: 1 });
      await cluster.createTopic(right, { partitions: 1 });
      await cluster.createTopic(output, { partitions: 1 });
      await produceRecords(brokers, left, lefts);
      await produceRecords(brokers, right, rights);
      const app = new StreamsApp(build(), {
        applicationId,
        brokers,
        stateDir: t.testdir({}),
        replicationFactor: 1,
        logLevel: 'warn',
      });
      let committed = 0;
      app.onCommit((e) => void (committed += e.records));
      await app.start();
      try {
        await waitFor(() => committed >= 600 || app.state === 'ERROR', {
          timeoutMs: 120_000,
          what: 'both topics processed',
        });
      } finally {
        await app.close();
      }
      const viaCluster = (await readTopic(t, output, 'utf8')).map((o) => o.value);
      const inTimeOrder = [
        ...lefts.map((x) => ({ ...x, side: 'L' })),
        ...rights.map((x) => ({ ...x, side: 'R' })),
      ]
        .sort((a, b) => a.timestamp - b.timestamp)
        .map((x) => `${x.side}${x.value}`);
      t.same(viaDriver, inTimeOrder, 'the driver merges by timestamp');
      t.same(viaCluster, viaDriver, 'and so does the runtime, whatever it fetched first');
    },
  );
});
